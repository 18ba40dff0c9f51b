package abr

import (
	"testing"
	"time"
)

func TestMinWindow(t *testing.T) {
	m := minWindow{win: 8 * time.Second}
	if _, ok := m.min(0); ok {
		t.Fatal("empty window has a minimum")
	}
	ms := time.Millisecond
	m.add(0, 50*ms)
	m.add(500*ms, 30*ms) // same slot: the minimum
	m.add(3*time.Second, 80*ms)
	if v, _ := m.min(3 * time.Second); v != 30*ms {
		t.Errorf("min %v, want 30ms", v)
	}
	// The 30 ms sample ages out after the window; 80 ms remains.
	if v, _ := m.min(8*time.Second + ms); v != 80*ms {
		t.Errorf("after the window: %v, want 80ms", v)
	}
	if _, ok := m.min(20 * time.Second); ok {
		t.Error("everything aged out, still a minimum")
	}
	// Many samples over a long time: always the minimum of the last window.
	m.reset()
	for i := range 1000 {
		at := time.Duration(i) * 100 * ms
		m.add(at, time.Duration(1000-i)*ms) // falling: the newest is the minimum
		if v, _ := m.min(at); v != time.Duration(1000-i)*ms {
			t.Fatalf("at %v: %v", at, v)
		}
	}
	m.reset()
	for i := range 1000 {
		at := time.Duration(i) * 100 * ms
		m.add(at, time.Duration(i)*ms) // rising: the oldest in the window
		v, _ := m.min(at)
		if oldest := max(0, at-m.win); v < time.Duration(oldest/(100*ms))*ms || v > time.Duration((oldest+m.win/minSlots)/(100*ms))*ms+ms {
			t.Fatalf("at %v: %v, want the value from about %v", at, v, oldest)
		}
	}
}

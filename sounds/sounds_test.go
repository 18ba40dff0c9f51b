package sounds

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

func crossingsHz(s []int16) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / float64(Format.SampleRate))
}

func TestCues(t *testing.T) {
	for _, c := range []struct {
		start      bool
		first, sec float64
	}{{true, 660, 880}, {false, 880, 660}} {
		s := Cue(c.start)
		if d := time.Duration(len(s)) * time.Second / time.Duration(Format.SampleRate); d != 240*time.Millisecond {
			t.Errorf("cue lasts %v", d)
		}
		half := len(s) / 2
		if hz := crossingsHz(s[:half]); math.Abs(hz-c.first) > 15 {
			t.Errorf("start=%v first note %.0f Hz, want %.0f", c.start, hz, c.first)
		}
		if hz := crossingsHz(s[half:]); math.Abs(hz-c.sec) > 15 {
			t.Errorf("start=%v second note %.0f Hz, want %.0f", c.start, hz, c.sec)
		}
		if s[0] != 0 || math.Abs(float64(s[len(s)-1])) > 500 {
			t.Errorf("cue edges not faded: %d ... %d", s[0], s[len(s)-1])
		}
	}
}

// recorder is an Output that keeps what was played.
type recorder struct {
	mu     sync.Mutex
	played [][]int16
	slow   time.Duration
}

func (r *recorder) Write(s []int16) error {
	time.Sleep(r.slow)
	r.mu.Lock()
	r.played = append(r.played, s)
	r.mu.Unlock()
	return nil
}
func (r *recorder) Drain() error { return nil }
func (r *recorder) Close() error { return nil }

func TestPlayerNeverBlocks(t *testing.T) {
	r := &recorder{slow: 300 * time.Millisecond}
	p := NewPlayerOn(func() (Output, error) { return r, nil })
	start := time.Now()
	p.PlayStart()
	p.PlayStop() // dropped: a cue is still playing
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("PlayStart blocked the caller")
	}
	p.Wait()
	if len(r.played) != 1 {
		t.Errorf("%d cues played, want 1 (no queueing behind a playing cue)", len(r.played))
	}
	var got error
	p = NewPlayerOn(func() (Output, error) { return nil, errors.New("no speaker") })
	p.OnError = func(err error) { got = err }
	p.PlayStop()
	p.Wait()
	if got == nil {
		t.Error("a failed cue was not reported")
	}
	if _, err := NewPlayer("hw:x"); err == nil {
		t.Error("bad speaker name accepted")
	}
	if p, err := NewPlayer("none"); p != nil || err != nil {
		t.Error("speaker none should give no player")
	}
}

package srt

import (
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"
)

type keyCounter struct{ n int }

func (k *keyCounter) ForceKeyframe()         { k.n++ }
func (k *keyCounter) SetBitrate(_ int) error { return nil }

// TestDropWatch: a keyframe as soon as the sender drops or gives up a
// packet, at most every 500 ms while it keeps dropping, one more once it
// stops, none on a clean link.
func TestDropWatch(t *testing.T) {
	var drops uint64
	enc := &keyCounter{}
	var givenUp uint64
	w := &dropWatch{stats: func(s *gosrt.Statistics) { s.Accumulated.PktSendDrop, s.Accumulated.PktGivenUp = drops, givenUp }, enc: enc,
		every: 100 * time.Millisecond, gap: 500 * time.Millisecond}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for ms := 0; ms <= 1000; ms += 20 { // clean link
		w.check(at(ms))
	}
	if enc.n != 0 {
		t.Fatalf("%d keyframes on a clean link", enc.n)
	}
	// Drops every 100 ms for 1.2 s (an outage), then none.
	for ms := 1100; ms <= 3000; ms += 20 {
		if ms <= 2300 && ms%100 == 0 {
			drops += 3
		}
		w.check(at(ms))
	}
	// At 1100 (first drop), 1600, 2100 while dropping; at the first
	// check after the last drop (2400) once more.
	if enc.n != 4 || w.Forced != 4 {
		t.Fatalf("%d keyframes over the outage, want 4", enc.n)
	}
	// A packet given up (NAKed too late to resend) counts as a drop.
	w.check(at(3500))
	givenUp++
	w.check(at(3600))
	if enc.n != 5 {
		t.Fatalf("%d keyframes after a packet given up, want 5", enc.n)
	}
	w.enc = nil // no encoder control: nothing to do, no panic
	drops += 5
	w.check(at(4000))
}

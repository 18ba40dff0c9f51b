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

// TestDropWatchAbandons: on a full link (the RTT 50 ms over its least), a
// keyframe within a second of the sender giving packets up, or a step
// down's, abandons the repairs before it; one on a link that gives nothing
// up, or long after, or with no queue standing (random loss, the return
// from an outage), abandons nothing.
func TestDropWatchAbandons(t *testing.T) {
	var givenUp uint64
	rtt := 1.0 // ms
	calls := 0
	w := &dropWatch{stats: func(s *gosrt.Statistics) { s.Accumulated.PktGivenUp, s.Instantaneous.MsRTT = givenUp, rtt }, enc: &keyCounter{},
		abandon: func() uint64 { calls++; return 7 }, every: 100 * time.Millisecond, gap: 500 * time.Millisecond}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	w.check(at(0))
	w.keyframe(at(50), false) // nothing given up yet: a keyframe of the GOP
	givenUp = 3
	w.check(at(200))
	w.keyframe(at(250), false) // given up, but no queue: random loss
	if w.keyframe(at(260), true) {
		t.Fatal("a step down with no queue standing reported a full link")
	}
	if calls != 0 {
		t.Fatalf("abandoned %d times with no queue standing", calls)
	}
	rtt = 60 // a queue
	givenUp = 4
	w.check(at(300))
	w.keyframe(at(350), false)
	w.check(at(400)) // no growth: the time of the last one counts
	w.keyframe(at(1250), false)
	if calls != 2 || w.Abandoned != 14 {
		t.Fatalf("abandoned %d times (%d packets) within a second of a give-up, want 2 (14)", calls, w.Abandoned)
	}
	w.keyframe(at(1350), false)
	if calls != 2 {
		t.Fatal("abandoned 1.05 s after the last give-up")
	}
	if !w.keyframe(at(5000), true) { // a step down the ladder's
		t.Fatal("a step down's keyframe did not report the full link")
	}
	if calls != 3 {
		t.Fatal("a step down's keyframe abandoned nothing")
	}
}

// TestPacer: a keyframe into a full link goes out at 0.8 times the
// receiver's rate, spread over no more than the bound; with no rate
// reported, or once stopped, nothing waits.
func TestPacer(t *testing.T) {
	clock := time.Unix(1000, 0)
	var slept []time.Duration
	p := &pacer{now: func() time.Time { return clock }, sleep: func(d time.Duration) { slept = append(slept, d); clock = clock.Add(d) }}
	send := func(sizes ...int) time.Duration {
		start := clock
		for _, n := range sizes {
			p.wait(n)
		}
		return clock.Sub(start)
	}
	const msg = 1316
	p.start(3*msg, 0, 200*time.Millisecond)
	if send(msg, msg, msg) != 0 {
		t.Fatalf("paced with no receiver rate: slept %v", slept)
	}
	// 280 kbit/s reported: 224 kbit/s, a message every 47 ms; the first
	// goes at once, the third 94 ms after it.
	p.start(3*msg, 280_000, 200*time.Millisecond)
	got := send(msg, msg, msg)
	want := 2 * time.Duration(float64(msg*8)/224_000*float64(time.Second))
	if d := got - want; d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("three messages took %v, want %v (slept %v)", got, want, slept)
	}
	// A large keyframe: the spread is bounded, the rate above the pace.
	p.start(40*msg, 280_000, 200*time.Millisecond)
	sizes := make([]int, 41)
	for i := range sizes {
		sizes[i] = msg
	}
	if got := send(sizes...); got > 201*time.Millisecond || got < 190*time.Millisecond {
		t.Fatalf("41 messages of a 40-message keyframe took %v, want about the 200 ms bound", got)
	}
	p.stop()
	slept = nil
	if send(msg, msg, msg) != 0 || len(slept) != 0 {
		t.Fatalf("stopped, yet slept %v", slept)
	}
}

package pace

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The guard through one congestion: a cut at the first feedback that shows
// the link full, a recut only when the link reads lower still and the
// first had time to show, pacing under the link while it is full, then
// the cap rising once the queue drained, and gone when over GCC's target.
func TestLinkGuardCongestion(t *testing.T) {
	pace := func(link int) int { return int(float64(link) * linkPace) }
	t0 := time.Unix(1_800_000_000, 0)
	var g Guard
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const gcc = 1_532_000
	idle := Report{QueueDelay: 2 * time.Millisecond}
	full := func(link int) Report {
		return Report{QueueDelay: 120 * time.Millisecond, LinkRate: link}
	}
	step := func(ms int, r Report, send int, wantChanged bool, wantCap, wantPace int) {
		t.Helper()
		if got := g.Update(at(ms), r, send); got != wantChanged {
			t.Fatalf("at %d ms: changed %v, want %v", ms, got, wantChanged)
		}
		if g.cap != wantCap || g.Pacing() != wantPace {
			t.Fatalf("at %d ms: cap %d, pacing %d; want %d, %d", ms, g.cap, g.Pacing(), wantCap, wantPace)
		}
	}
	for ms := 0; ms < 1000; ms += 100 {
		step(ms, idle, 450_000, false, 0, 0)
	}
	if got := g.Limit(at(1000), gcc); got != gcc {
		t.Fatalf("idle: target %d, want GCC's %d", got, gcc)
	}
	// A burst after a stall: waited, but arrived as fast as sent.
	step(1000, Report{QueueDelay: 90 * time.Millisecond, LinkRate: 440_000}, 450_000, false, 0, 0)
	// The cut: 85 % of the link, paced at 90 %.
	step(1100, full(200_000), 450_000, true, 170_000, pace(200_000))
	if got := g.Limit(at(1100), gcc); got != 170_000 {
		t.Fatalf("congested: target %d, want the cap 170000", got)
	}
	// Within linkRecut: averaged in (a quarter), no recut.
	step(1200, full(120_000), 400_000, false, 170_000, pace(180_000))
	// After it, with the average (165000) under 90 % of the cap's link:
	// recut.
	step(1500, full(120_000), 300_000, true, 140_250, pace(165_000))
	// A measure over the average moves it up but never the cap.
	step(1900, full(240_000), 300_000, false, 140_250, pace(183_750))
	// GCC, seeing the congestion too, comes down, to over the cap.
	if got := g.Limit(at(1900), 160_000); got != 140_250 {
		t.Fatalf("GCC over the cap: target %d, want the cap 140250", got)
	}
	// The queue drains: under linkQueueLow for linkClearAfter ends it.
	step(2000, Report{QueueDelay: 10 * time.Millisecond}, 150_000, false, 140_250, pace(183_750))
	step(2600, Report{QueueDelay: 30 * time.Millisecond}, 150_000, false, 140_250, pace(183_750))
	step(2700, idle, 150_000, false, 140_250, pace(183_750))
	step(3700, idle, 150_000, false, 140_250, 0)
	if g.congested {
		t.Fatal("still congested after the queue drained")
	}
	// Then the cap rises 8 % every 500 ms.
	step(3800, idle, 150_000, false, 140_250, 0)
	step(4200, idle, 150_000, true, 151_470, 0)
	step(4300, idle, 150_000, false, 151_470, 0)
	if got := g.Limit(at(4300), 160_000); got != 151_470 {
		t.Fatalf("the cap rising: target %d, want 151470", got)
	}
	step(4700, idle, 150_000, true, 163_587, 0)
	// Over GCC's target: the cap goes.
	if got := g.Limit(at(4700), 160_000); got != 160_000 || g.cap != 0 {
		t.Fatalf("the cap over GCC's target: target %d, cap %d; want 160000 and no cap", got, g.cap)
	}
}

// A cut of GCC's that no feedback bears out (no wait, no loss for a
// second) leaves the target; one that comes with a wait or a loss is
// taken, and so is one held back, once the evidence comes.
func TestLinkGuardHoldsUnfoundedCut(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var g Guard
	idle := Report{QueueDelay: 3 * time.Millisecond}
	if got := g.Limit(at(0), 1_532_000); got != 1_532_000 {
		t.Fatalf("start: %d", got)
	}
	for ms := 0; ms <= 2000; ms += 100 {
		g.Update(at(ms), idle, 450_000)
	}
	if got := g.Limit(at(2000), 730_000); got != 1_532_000 {
		t.Fatalf("an unfounded cut: target %d, want 1532000 held", got)
	}
	// A rise over what is held is taken.
	if got := g.Limit(at(2100), 1_600_000); got != 1_600_000 {
		t.Fatalf("a rise: target %d, want 1600000", got)
	}
	if got := g.Limit(at(2200), 730_000); got != 1_600_000 {
		t.Fatalf("an unfounded cut: target %d, want 1600000 held", got)
	}
	// A loss is evidence: the cut held back applies.
	g.Update(at(2300), Report{QueueDelay: 3 * time.Millisecond, Lost: 1}, 450_000)
	if got := g.Limit(at(2300), 730_000); got != 730_000 {
		t.Fatalf("after a loss: target %d, want 730000", got)
	}
	// A wait over linkQueueLow is evidence too, for linkEvidenceFor.
	var h Guard
	h.Limit(at(0), 1_532_000)
	h.Update(at(100), Report{QueueDelay: 25 * time.Millisecond}, 450_000)
	if got := h.Limit(at(900), 900_000); got != 900_000 {
		t.Fatalf("after a wait: target %d, want 900000", got)
	}
	if got := h.Limit(at(2200), 500_000); got != 900_000 {
		t.Fatalf("a second after the wait: target %d, want 900000 held", got)
	}
}

func TestPacerSpacesPackets(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var p Pacer
	const rate = 1_200_000 // bit/s: 8 ms per 1200-byte packet
	// An idle pacer lets pacerBurst go at once, then spaces the rest.
	for i := 0; i < 5; i++ {
		want := t0.Add(-pacerBurst + time.Duration(i)*8*time.Millisecond)
		if got := p.slot(t0, 1200, rate); !got.Equal(want) {
			t.Fatalf("packet %d: slot %v, want %v", i, got.Sub(t0), want.Sub(t0))
		}
	}
	// After a second idle, the credit is pacerBurst again, not a second.
	t1 := t0.Add(time.Second)
	if got := p.slot(t1, 1200, rate); !got.Equal(t1.Add(-pacerBurst)) {
		t.Fatalf("after idle: slot %v, want %v", got.Sub(t1), -pacerBurst)
	}
	// Audio charged without waiting takes its share of the budget.
	var q Pacer
	q.slot(t0, 1200, rate)
	q.Charge(t0, 600, rate)
	if got := q.slot(t0, 1200, rate); !got.Equal(t0.Add(-pacerBurst + 12*time.Millisecond)) {
		t.Fatalf("after a charged packet: slot %v, want %v", got.Sub(t0), -pacerBurst+12*time.Millisecond)
	}
}

// Wait returns ctx's error when it ends first, and the pacer (its timer
// reused) waits again afterwards.
func TestPacerWaitCancelAndReuse(t *testing.T) {
	var p Pacer
	const rate = 8_000 // bit/s: a 1000-byte packet takes a second
	if err := p.Wait(context.Background(), 1000, rate); err != nil {
		t.Fatal(err) // the idle pacer's credit: no wait
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx, 1000, rate); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with an ended context: %v, want context.Canceled", err)
	}
	// Packets of 5 bytes at 8 kbit/s, 5 ms each: the later ones wait on
	// the reused timer.
	p = Pacer{timer: p.timer}
	for i := 0; i < 3; i++ {
		if err := p.Wait(context.Background(), 5, rate); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	if !p.next.After(time.Now().Add(-pacerBurst)) {
		t.Fatalf("three 5 ms packets left no schedule: next %v", p.next)
	}
}

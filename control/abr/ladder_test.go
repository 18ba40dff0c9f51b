package abr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// testLadder is the default ladder from a 720p30 stream; its derived floors
// (0.03 bit per pixel) are 829, 467, 207, 104 and 46 kbit/s.
var testLadder = []Rung{{1280, 720, 30, 0}, {960, 540, 30, 0}, {640, 360, 30, 0}, {640, 360, 15, 0}, {426, 240, 15, 0}}

var testFloors = []int{829_440, 466_560, 207_360, 103_680, 46_008}

// calmSample is a healthy SRT-like sample at time at with the encoder
// making enc.
func calmSample(at time.Duration, enc int) Sample {
	return Sample{At: at, RTT: 40 * time.Millisecond, SendBuffer: 50 * time.Millisecond, SendRate: enc + 64_000, EncoderRate: enc}
}

func TestLadderFloors(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder})
	for i, want := range testFloors {
		if got := c.lad.floor[i]; got != want {
			t.Errorf("rung %d floor %d, want %d", i, got, want)
		}
	}
	set := append([]Rung(nil), testLadder...)
	set[1].Floor = 400_000
	c = newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: set, FloorBitsPerPixel: 0.04})
	if c.lad.floor[0] != 1_105_920 || c.lad.floor[1] != 400_000 {
		t.Errorf("floors %v: want 1105920 (0.04 bit/pixel) and the 400000 set", c.lad.floor[:2])
	}
}

func TestLadderValidate(t *testing.T) {
	ok := Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field, want string
		mod         func(*Config)
	}{
		{"Ladder", "not smaller", func(c *Config) { c.Ladder = []Rung{{640, 360, 30, 0}, {1280, 720, 30, 0}} }},
		{"Ladder", "not smaller", func(c *Config) { c.Ladder = []Rung{{640, 360, 30, 0}, {640, 360, 30, 0}} }},
		{"Ladder", "not below the floor", func(c *Config) { c.Ladder = []Rung{{1280, 720, 30, 300_000}, {640, 360, 30, 300_000}} }},
		{"Ladder", "fps", func(c *Config) { c.Ladder = []Rung{{1280, 720, 30, 0}, {640, 360, 0, 0}} }},
		{"Ladder", "size", func(c *Config) { c.Ladder = []Rung{{1280, 720, 30, 0}, {0, 360, 15, 0}} }},
		{"Ladder", "floor", func(c *Config) { c.Ladder = []Rung{{1280, 720, 30, -1}} }},
		{"Ladder", "at most 8", func(c *Config) { c.Ladder = make([]Rung, 9) }},
		{"LadderUpMargin", "1.1 to 10", func(c *Config) { c.LadderUpMargin = 1.05 }},
		{"LadderUpHold", "1h", func(c *Config) { c.LadderUpHold = -time.Second }},
		{"LadderDownHold", "1h", func(c *Config) { c.LadderDownHold = 2 * time.Hour }},
		{"FloorBitsPerPixel", "(0, 1]", func(c *Config) { c.FloorBitsPerPixel = 2 }},
	} {
		cfg := ok
		tc.mod(&cfg)
		err := cfg.Validate()
		if !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want invalid_config naming %s and saying %q", tc.field, err, tc.field, tc.want)
		}
	}
}

// A congestion cut that lands at or below the floor steps down in the same
// decision, to the first rung whose floor lies below the new bitrate.
func TestLadderDownOnCut(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder})
	at := time.Duration(0)
	for i := 0; i < 20; i++ {
		at += iv
		c.Update(calmSample(at, 1_800_000))
	}
	// The link collapses: RTT and loss far over their thresholds, the
	// send rate a fraction of what the encoder makes.
	rung, steps := 0, 0
	for i := 0; i < 20; i++ {
		at += iv
		before := c.Bitrate()
		d := c.Update(Sample{At: at, RTT: 600 * time.Millisecond, SendBuffer: 700 * time.Millisecond, Loss: 0.3,
			SendRate: 200_000, EncoderRate: min(before, 1_800_000)})
		if d.RungChanged {
			steps++
			if !d.Changed || d.Bitrate > testFloors[rung] || d.RungReason != ReasonLadderFloor {
				t.Errorf("%v: rung %d -> %d with bitrate %d -> %d (%s, %s): want a cut to the floor (%d) or below, the step in the same decision",
					at, rung, d.Rung, before, d.Bitrate, d.Reason, d.RungReason, testFloors[rung])
			}
			if d.Rung < len(testFloors)-1 && testFloors[d.Rung] >= d.Bitrate {
				t.Errorf("%v: stepped to rung %d whose floor %d is not below the bitrate %d", at, d.Rung, testFloors[d.Rung], d.Bitrate)
			}
			if d.Rung > rung+1 && testFloors[d.Rung-1] < d.Bitrate {
				t.Errorf("%v: skipped rung %d whose floor %d is below the bitrate %d", at, d.Rung-1, testFloors[d.Rung-1], d.Bitrate)
			}
		} else if d.Rung != rung {
			t.Errorf("rung changed without RungChanged")
		}
		rung = d.Rung
	}
	if rung < 2 || steps > 3 {
		t.Errorf("after the collapse: rung %d after %d steps (bitrate %d); want rung 2 or lower, in at most 3 steps", rung, steps, c.Bitrate())
	}
}

// Congestion that goes on with the bitrate at Min: the ladder is the only
// lever left, one rung at a time, each given encoderOverHold to show.
func TestLadderDownAtMinimum(t *testing.T) {
	c := newTest(t, Config{Min: 150_000, Max: 2_000_000, Ladder: testLadder})
	at := time.Duration(0)
	for i := 0; i < 20; i++ {
		at += iv
		c.Update(calmSample(at, 1_500_000))
	}
	var lastSwitch time.Duration
	for i := 0; i < 30 && c.Rung() < 4; i++ {
		at += iv
		d := c.Update(Sample{At: at, RTT: 600 * time.Millisecond, SendBuffer: 700 * time.Millisecond, Loss: 0.3,
			SendRate: 150_000, EncoderRate: c.Bitrate()})
		if !d.RungChanged {
			continue
		}
		if d.Rung == 4 {
			// 150k is over 360p15's floor (104k): only the minimum rule
			// takes it further.
			if d.RungReason != ReasonLadderMin || d.Bitrate != 150_000 || at-lastSwitch < encoderOverHold {
				t.Errorf("to rung 4 at %d bit/s (%s), %v after the switch before", d.Bitrate, d.RungReason, at-lastSwitch)
			}
		} else if d.RungReason != ReasonLadderFloor {
			t.Errorf("to rung %d: %s, want the floor rule", d.Rung, d.RungReason)
		}
		lastSwitch = at
	}
	if c.Rung() != 4 {
		t.Errorf("congested at Min for 15 s: rung %d, want the last", c.Rung())
	}
}

// A device cap below the floor is no congestion: the step waits
// LadderDownHold, and then goes to the first rung whose floor fits.
func TestLadderDownOnCapWaits(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder})
	at := time.Duration(0)
	for i := 0; i < 4; i++ {
		at += iv
		c.Update(calmSample(at, 1_500_000))
	}
	capped := at + iv
	for i := 0; i < 10; i++ {
		at += iv
		s := calmSample(at, 240_000)
		s.Cap = 250_000
		d := c.Update(s)
		switch {
		case at-capped < defLadderDownHold && d.Rung != 0:
			t.Fatalf("stepped to rung %d %v after the cap, before the %v hold", d.Rung, at-capped, defLadderDownHold)
		case at-capped >= defLadderDownHold && d.Rung != 2:
			t.Fatalf("%v after a 250 kbit/s cap: rung %d, want 2 (the first floor below 250 kbit/s, 207)", at-capped, d.Rung)
		}
	}
	if c.Rung() != 2 || c.rungWhy != ReasonLadderFloor {
		t.Errorf("rung %d (%s)", c.Rung(), c.rungWhy)
	}
}

// A stream whose own bitrate is under its floor is what was asked for: at
// Max nothing steps, for minutes.
func TestLadderNotAtMax(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 400_000, Ladder: testLadder})
	for i := 1; i <= 600; i++ {
		if d := c.Update(calmSample(time.Duration(i)*iv, 380_000)); d.Rung != 0 || d.Bitrate != 400_000 {
			t.Fatalf("%v: rung %d at %d bit/s on a healthy link at Max", time.Duration(i)*iv, d.Rung, d.Bitrate)
		}
	}
}

// An encoder that cannot get down to its target (openh264 at its highest
// QP) steps down after encoderOverHold; coming back up needs the bitrate
// 1.5 times over what it made there, not only over the floor.
func TestLadderEncoderOver(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 3_000_000, Ladder: testLadder})
	at := time.Duration(0)
	next := func(s Sample) Decision {
		at += iv
		s.At = at
		return c.Update(s)
	}
	for i := 0; i < 4; i++ {
		next(calmSample(0, 2_500_000))
	}
	var overAt time.Duration
	for i := 0; i < 12 && c.Rung() == 0; i++ {
		s := calmSample(0, 1_200_000) // 1.33 times the capped target, which is over the floor
		s.Cap = 900_000
		if overAt == 0 {
			overAt = at + iv
		}
		if d := next(s); d.RungChanged && (d.RungReason != ReasonLadderEncoder || at-overAt < encoderOverHold) {
			t.Fatalf("%v after the overshoot began: rung %d (%s); want the encoder rule, after %v", at-overAt, d.Rung, d.RungReason, encoderOverHold)
		}
	}
	if c.Rung() != 1 || c.lad.encoderMade[0] != 1_200_000 {
		t.Fatalf("rung %d, encoder made %d at rung 0; want rung 1 and 1200000 remembered", c.Rung(), c.lad.encoderMade[0])
	}
	// The cap goes; the link is clear. The bitrate climbs; the step up
	// comes only once it has held 1.8 Mbit/s (1.5 x 1.2M) for the hold.
	var above time.Duration
	for i := 0; i < 600 && c.Rung() == 1; i++ {
		d := next(calmSample(0, c.Bitrate()*9/10))
		if d.Bitrate >= 1_800_000 && above == 0 {
			above = at
		}
		if d.RungChanged {
			if above == 0 || at-above < defLadderUpHold {
				t.Fatalf("stepped up at %d bit/s, %v after reaching 1.8 Mbit/s: want 1.8 Mbit/s for %v", d.Bitrate, at-above, defLadderUpHold)
			}
			if d.RungReason != ReasonLadderUp || d.Rung != 0 {
				t.Fatalf("rung %d (%s)", d.Rung, d.RungReason)
			}
		}
	}
	if c.Rung() != 0 {
		t.Errorf("never stepped back up: rung %d at %d bit/s", c.Rung(), c.Bitrate())
	}
}

// Between a floor and the margin over it nothing moves: a cap that keeps
// the bitrate at 1 Mbit/s (over 720p's 829k floor, under its 1244k up
// need) holds the stream on 540p for five minutes; lifted, it steps up
// after the hold. Reset (a reconnect) keeps the rung.
func TestLadderHysteresis(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder})
	at := time.Duration(0)
	next := func(capBps int) Decision {
		at += iv
		s := calmSample(at, c.Bitrate()*9/10)
		s.Cap = capBps
		return c.Update(s)
	}
	for i := 0; i < 10; i++ {
		next(600_000)
	}
	if c.Rung() != 1 {
		t.Fatalf("a 600 kbit/s cap: rung %d, want 1", c.Rung())
	}
	c.Reset()
	if c.Rung() != 1 {
		t.Fatalf("Reset moved the rung to %d", c.Rung())
	}
	for i := 0; i < 600; i++ {
		if d := next(1_000_000); d.Rung != 1 {
			t.Fatalf("%v: rung %d at %d bit/s: inside the hysteresis band nothing should move", at, d.Rung, d.Bitrate)
		}
	}
	var reached time.Duration
	for i := 0; i < 200 && c.Rung() == 1; i++ {
		d := next(0)
		if reached == 0 && d.Bitrate >= 1_244_000 {
			reached = at
		}
	}
	if c.Rung() != 0 || at-reached < defLadderUpHold {
		t.Errorf("rung %d, %v after the bitrate reached the up need", c.Rung(), at-reached)
	}
}

// A step up that fails (congestion at the floor soon after) doubles the
// hold before the next step up into that rung.
func TestLadderFailedStepUpWaitsLonger(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder[:2]})
	at := time.Duration(0)
	next := func(s Sample) Decision {
		at += iv
		s.At = at
		return c.Update(s)
	}
	for i := 0; i < 6; i++ {
		s := calmSample(0, 280_000)
		s.Cap = 300_000
		next(s)
	}
	if c.Rung() != 1 {
		t.Fatalf("rung %d under a 300 kbit/s cap", c.Rung())
	}
	// Room: up after the hold.
	upAt := time.Duration(0)
	for i := 0; i < 300 && c.Rung() == 1; i++ {
		if d := next(calmSample(0, c.Bitrate()*9/10)); d.RungChanged {
			upAt = at
		}
	}
	if upAt == 0 {
		t.Fatal("no step up")
	}
	// Congestion right after: cuts to the floor and back down.
	for i := 0; i < 20 && c.Rung() == 0; i++ {
		next(Sample{RTT: 600 * time.Millisecond, SendBuffer: 700 * time.Millisecond, Loss: 0.3, SendRate: 150_000, EncoderRate: c.Bitrate()})
	}
	if c.Rung() != 1 || at-upAt > c.probeWindow() {
		t.Fatalf("rung %d %v after the step up", c.Rung(), at-upAt)
	}
	if c.lad.upMult[0] != 2 {
		t.Fatalf("up hold multiplier %d after a failed step up, want 2", c.lad.upMult[0])
	}
	var roomFrom time.Duration
	for i := 0; i < 600 && c.Rung() == 1; i++ {
		d := next(calmSample(0, c.Bitrate()*9/10))
		if roomFrom == 0 && d.Bitrate >= 1_244_000 && at-c.lastCut >= defDecreaseHold {
			roomFrom = at
		}
	}
	if c.Rung() != 0 || roomFrom == 0 || at-roomFrom < 2*defLadderUpHold {
		t.Errorf("second step up %v after room (rung %d), want %v at least", at-roomFrom, c.Rung(), 2*defLadderUpHold)
	}
}

func TestLadderNoAllocs(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder})
	at := time.Duration(0)
	n := testing.AllocsPerRun(200, func() {
		at += iv
		s := calmSample(at, 500_000)
		if at%(7*iv) == 0 {
			s.Cap = 200_000
		}
		c.Update(s)
	})
	if n != 0 {
		t.Errorf("%.1f allocations per update with a ladder", n)
	}
}

// naiveLadder is the ladder the closed-loop tests compare against: our
// bitrate controller, and rung steps at the floors with no margin, no hold
// and no memory. What a first attempt looks like.
type naiveLadder struct {
	c      *Controller
	floors []int
	rung   int
}

func (n *naiveLadder) Update(s Sample) Decision {
	d := n.c.Update(s)
	old := n.rung
	switch {
	case n.rung < len(n.floors)-1 && d.Bitrate <= n.floors[n.rung] && d.Bitrate < n.c.cfg.Max:
		n.rung++
	case n.rung > 0 && d.Bitrate > n.floors[n.rung-1]:
		n.rung--
	}
	d.Rung, d.RungChanged = n.rung, n.rung != old
	return d
}

// encoderFloors models openh264 at its coarsest quantiser: whatever the
// target, the encoder makes at least floors[rung].
func encoderFloors(floors ...float64) func(float64, int) float64 {
	return func(target float64, rung int) float64 { return max(target, floors[min(rung, len(floors)-1)]) }
}

func rungChanges(tr []point) int {
	n := 0
	for i := 1; i < len(tr); i++ {
		if tr[i].rung != tr[i-1].rung {
			n++
		}
	}
	return n
}

func runLadder(l link, d time.Duration, seed uint64) []point {
	c, _ := New(Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder})
	return simulate(c, l, 2_000_000, d, iv, seed)
}

func runNaiveLadder(l link, d time.Duration, seed uint64) []point {
	c, _ := New(Config{Min: 100_000, Max: 2_000_000})
	return simulate(&naiveLadder{c: c, floors: testFloors}, l, 2_000_000, d, iv, seed)
}

// The link drops from 1 Mbit/s to 400 kbit/s for a minute: with 32 kbit/s
// of audio on top, below what the encoder makes at 720p on this scene (450
// kbit/s at its coarsest); then it opens to 3 Mbit/s. The bitrate fits within 3 s, and
// the ladder steps down far enough that what the encoder really makes fits
// too, as soon; during the cut the rung moves at most three times, and
// after it the stream climbs back to its own size.
func TestClosedLoopLadderCut(t *testing.T) {
	for _, k := range []transport{srtLike, rtmpLike} {
		for _, seed := range seeds {
			l := pathLink(k, func(t time.Duration) float64 {
				switch {
				case t < 30*time.Second:
					return 1e6
				case t < 90*time.Second:
					return 400_000
				}
				return 3e6
			})
			l.audio = 32_000
			l.produceAt = encoderFloors(450_000, 250_000, 120_000, 60_000, 30_000)
			tr := runLadder(l, 240*time.Second, seed)
			fits := func(video float64, p point) bool { return video+l.audio < p.capacity }
			a, fit := time.Duration(-1), time.Duration(-1)
			for _, p := range after(tr, 30*time.Second) {
				if a < 0 && fits(float64(p.rate), p) {
					a = p.t - 30*time.Second
				}
				if fit < 0 && fits(l.produceAt(float64(p.rate), p.rung), p) {
					fit = p.t - 30*time.Second
				}
			}
			check(t, tr, a >= 0 && a <= 3*time.Second, "%s seed %d: bitrate fit after %v", transportName(k), seed, a)
			check(t, tr, fit >= 0 && fit <= 3*time.Second, "%s seed %d: what the encoder makes fit the link after %v, want 3 s at most", transportName(k), seed, fit)
			cut := after(tr, 30*time.Second)[:int(60*time.Second/iv)]
			check(t, tr, rungChanges(cut) <= 3, "%s seed %d: %d rung changes during the cut", transportName(k), seed, rungChanges(cut))
			back := time.Duration(-1)
			for _, p := range after(tr, 90*time.Second) {
				if p.rung == 0 {
					back = p.t - 90*time.Second
					break
				}
			}
			check(t, tr, back > 0 && back <= 2*time.Minute, "%s seed %d: back at rung 0 %v after the cut ended", transportName(k), seed, back)
			check(t, tr, tr[len(tr)-1].rung == 0, "%s seed %d: ended at rung %d", transportName(k), seed, tr[len(tr)-1].rung)
			if seed == 1 {
				t.Logf("%s: 1 Mbit/s -> 400 kbit/s for a minute: bitrate fit in %v, encoder output in %v, %d rung changes during the cut, back at the own size %v after it",
					transportName(k), a, fit, rungChanges(cut), back)
			}
		}
	}
}

// Two steady links that make a ladder without hysteresis or memory flap:
// one below what the encoder makes at 720p on a hard scene (1.3 Mbit/s at
// its coarsest, the link 1.2), where 540p fits and 720p's floor is far
// below what the link carries; and one whose capacity leaves the video
// just about 720p's floor. Ours settles: after the first minute at most
// one failed step up (two rung changes) in four minutes.
func TestClosedLoopLadderNoOscillation(t *testing.T) {
	cases := []struct {
		name     string
		capacity float64
		enc      func(float64, int) float64
	}{
		{"encoder-limited", 1.2e6, encoderFloors(1_300_000, 500_000, 250_000, 120_000, 60_000)},
		{"near the floor", 950_000, encoderFloors(250_000, 140_000, 70_000, 40_000, 20_000)},
	}
	for _, tc := range cases {
		for _, k := range []transport{srtLike, rtmpLike} {
			var oursMax, naiveMin = 0, 1 << 30
			for _, seed := range seeds {
				l := pathLink(k, constant(tc.capacity))
				l.produceAt = tc.enc
				ours := runLadder(l, 5*time.Minute, seed)
				nv := runNaiveLadder(l, 5*time.Minute, seed)
				o, n := rungChanges(after(ours, time.Minute)), rungChanges(after(nv, time.Minute))
				oursMax, naiveMin = max(oursMax, o), min(naiveMin, n)
				check(t, nv, n >= 4, "%s %s seed %d: the naive ladder changed rungs only %d times: the trace tests nothing", tc.name, transportName(k), seed, n)
				check(t, ours, o <= 2, "%s %s seed %d: %d rung changes after the first minute", tc.name, transportName(k), seed, o)
			}
			t.Logf("%s, %s: rung changes in minutes 1-5: ours %d at most, naive %d at least", tc.name, transportName(k), oursMax, naiveMin)
		}
	}
}

// After a step down the overhead over the video is learnt again: at 720p30
// it was 130 kbit/s (audio, muxing, packets); at 360p15 the stream sends
// 80 kbit/s more than its 60 kbit/s of video. The old figure would read as
// a send rate far behind the encoder (congestion, for good); a figure
// capped at the video rate as a backlog still draining (no climb). Freed,
// the link lets the bitrate climb.
func TestLadderRelearnsOverhead(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000, Ladder: testLadder})
	at := time.Duration(0)
	next := func(enc, extra, capBps int) Decision {
		at += iv
		s := calmSample(at, enc)
		s.SendRate, s.Cap = enc+extra, capBps
		return c.Update(s)
	}
	for i := 0; i < 30; i++ {
		next(1_500_000, 130_000, 0)
	}
	for i := 0; i < 10; i++ {
		next(60_000, 80_000, 120_000)
	}
	if c.Rung() < 3 {
		t.Fatalf("a 120 kbit/s cap: rung %d, want 360p15 or below", c.Rung())
	}
	for i := 0; i < 360; i++ {
		next(c.Bitrate()*6/10, 80_000, 0)
	}
	if c.Bitrate() < 300_000 {
		t.Errorf("3 min on a clear link after the cap: bitrate %d, want a climb (overhead %.0f)", c.Bitrate(), c.extra)
	}
}

// Congestion that keeps coming back with the bitrate at Min (a link cut to
// less than the stream's floor) leaves a ceiling at Min each time; it must
// not double its hold on every episode, or the stream stays at Min for two
// minutes after the link cleared.
func TestCeilingAtMinDoesNotGrow(t *testing.T) {
	c := newTest(t, Config{Min: 100_000, Max: 2_000_000})
	at := time.Duration(0)
	for i := 0; i < 20; i++ {
		at += iv
		c.Update(calmSample(at, 1_500_000))
	}
	// Two minutes of a link that carries Min and no more: every probe
	// above it meets congestion (for two samples, a queue's worth).
	over := 0
	for i := 0; i < 240; i++ {
		at += iv
		s := calmSample(at, c.Bitrate())
		if c.Bitrate() > 100_000 {
			over = 2
		}
		if over > 0 {
			over--
			s = Sample{At: at, RTT: 600 * time.Millisecond, SendBuffer: 700 * time.Millisecond, Loss: 0.3, SendRate: 120_000, EncoderRate: c.Bitrate()}
		}
		c.Update(s)
	}
	if c.Bitrate() != 100_000 {
		t.Fatalf("under the cut: %d bit/s, want Min", c.Bitrate())
	}
	cleared := at
	for c.Bitrate() <= 100_000 && at-cleared < 3*time.Minute {
		at += iv
		c.Update(calmSample(at, c.Bitrate()))
	}
	if d := at - cleared; d > defCeilingHold+10*time.Second {
		t.Errorf("the first increase came %v after the link cleared, want within %v", d, defCeilingHold+10*time.Second)
	}
}

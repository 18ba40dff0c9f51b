package abr

import (
	"math"
	"time"
)

// The resolution and frame-rate ladder. The bitrate alone cannot follow a
// link down past what the encoder makes at its coarsest quantiser: openh264
// at 720p30 does not go much below 250 kbit/s on an easy picture, whatever
// it is asked. Below a rung's floor the controller steps to a smaller
// picture or a lower frame rate, and back up once there is room:
//
//   - Down at the floor: the bitrate at or below the current rung's floor
//     (and below Max: the stream's own bitrate at its own size is what
//     was asked for). At once when a congestion cut put it there, the
//     cut being confirmed congestion already; after LadderDownHold when
//     something else did (a device cap, a transport target). It steps
//     to the first rung whose floor lies below the bitrate, several at
//     once if need be: a collapse should cost one keyframe, not three.
//   - Down at the minimum: a congestion cut with the bitrate already at
//     Min has nothing left to cut; the ladder is the only lever left. One
//     rung, and no sooner than encoderOverHold after the last switch, so
//     the step before has shown what it does.
//   - Down when the encoder cannot make the target: what it produced over
//     the last second stays over the target by encoderOverBy for
//     encoderOverHold. One rung, and what the encoder made is remembered:
//     coming back up needs the bitrate comfortably above it as well.
//   - Up: the bitrate at LadderUpMargin times the floor of the rung above
//     (and times what the encoder made there, if it failed there), capped
//     at Max, with every signal healthy, for LadderUpHold. One rung at a
//     time. A rung left again within the probe window after a step up into
//     it needs 1.2 times the bitrate that step was made at, and waits
//     twice as long (up to 4x), like a ceiling: a link that cannot carry
//     the bigger picture sees one failed step, not a step every minute.
//
// Between a rung's floor and the margin over it nothing moves, so a link
// whose capacity sits near a floor stays on one rung.

// Fixed rules of the ladder.
const (
	// encoderOverBy: an encoder producing this much more than its target
	// is not making it (openh264 at its highest QP).
	encoderOverBy = 1.25
	// encoderOverHold: for this long in a row. Two seconds: a keyframe, or
	// the second after a target change, weighs in the one-second rate but
	// is gone from it a second later.
	encoderOverHold = 2 * time.Second
	// rateWindow: the encoder's rate is an average over this long (the
	// send and receive rates too), so after a switch it still measures
	// the old rung for that time.
	rateWindow = time.Second
	// failedUpMargin: after a step up into a rung failed, the next needs
	// the bitrate this much over the one the failed step was made at.
	failedUpMargin = 1.2
)

// ladder is the controller's ladder state; arrays, so that an update
// allocates nothing.
type ladder struct {
	n     int // rungs; < 2: no ladder
	floor [maxRungs]int
	rung  int

	hasSwitch  bool
	switchedAt time.Duration
	hasUp      bool
	upAt       time.Duration
	upRate     int // the bitrate at the last step up

	// Each condition and since when it has held.
	low, over, room                bool
	lowSince, overSince, roomSince time.Duration

	// encoderMade is what the encoder produced at a rung it could not
	// make its target on (0: never failed there); failedAt the highest
	// bitrate a step up into a rung failed at; upMult the up hold's
	// multiplier for stepping into a rung.
	encoderMade [maxRungs]int
	failedAt    [maxRungs]int
	upMult      [maxRungs]int
}

func newLadder(cfg Config) ladder {
	l := ladder{n: len(cfg.Ladder)}
	for i, r := range cfg.Ladder {
		l.floor[i] = r.FloorAt(cfg.FloorBitsPerPixel)
		l.upMult[i] = 1
	}
	return l
}

// resetHolds forgets the conditions in progress, keeping the rung and what
// was learnt about the encoder (a property of the stream, not the path).
func (l *ladder) resetHolds() { l.low, l.over, l.room = false, false, false }

// since tracks how long cond has held: it returns the time since it began
// (0 the first time, or when it does not hold).
func since(cond bool, on *bool, from *time.Duration, now time.Duration) time.Duration {
	if !cond {
		*on = false
		return 0
	}
	if !*on {
		*on, *from = true, now
	}
	return now - *from
}

// stepLadder decides the rung after the bitrate decision of this sample.
// cut: this sample was a congestion cut (or one at Min, or a transport
// target cut); calm: no congestion, no drops, every signal healthy and past
// the hold after the last cut. It returns the reason when the rung changed.
func (c *Controller) stepLadder(s Sample, now time.Duration, cut, calm bool) string {
	l := &c.lad
	if l.n < 2 {
		return ""
	}
	sinceSwitch := time.Duration(math.MaxInt64)
	if l.hasSwitch {
		sinceSwitch = now - l.switchedAt
	}
	if l.rung < l.n-1 {
		atFloor := c.rate <= l.floor[l.rung] && c.rate < c.cfg.Max
		if d := since(atFloor, &l.low, &l.lowSince, now); atFloor && (cut || d >= c.cfg.LadderDownHold) {
			to := l.n - 1
			for j := l.rung + 1; j < l.n; j++ {
				if l.floor[j] < c.rate {
					to = j
					break
				}
			}
			return c.switchRung(now, to, ReasonLadderFloor)
		}
		if cut && c.rate <= c.cfg.Min && sinceSwitch >= encoderOverHold {
			return c.switchRung(now, l.rung+1, ReasonLadderMin)
		}
		// Only once the rate window no longer holds the previous rung.
		over := s.EncoderRate > 0 && float64(s.EncoderRate) > float64(c.rate)*encoderOverBy && sinceSwitch >= rateWindow
		if d := since(over, &l.over, &l.overSince, now); over && d >= encoderOverHold {
			l.encoderMade[l.rung] = s.EncoderRate
			return c.switchRung(now, l.rung+1, ReasonLadderEncoder)
		}
	}
	if l.rung > 0 {
		up := l.rung - 1
		need := int(float64(max(l.floor[up], l.encoderMade[up])) * c.cfg.LadderUpMargin)
		need = min(max(need, int(float64(l.failedAt[up])*failedUpMargin)), c.cfg.Max)
		room := calm && c.rate >= need
		hold := c.cfg.LadderUpHold * time.Duration(l.upMult[up])
		if d := since(room, &l.room, &l.roomSince, now); room && d >= hold && sinceSwitch >= hold {
			return c.switchRung(now, up, ReasonLadderUp)
		}
	}
	return ""
}

func (c *Controller) switchRung(now time.Duration, to int, reason string) string {
	l := &c.lad
	if to > l.rung && l.hasUp && now-l.upAt <= c.probeWindow() {
		// Down again soon after the step up into this rung: the step
		// failed. The bitrate it was made at was not enough for the
		// rung (the encoder makes more there than the link carries, or
		// the link was at its limit), and the next one waits longer.
		l.upMult[l.rung] = min(l.upMult[l.rung]*2, maxCeilingMult)
		l.failedAt[l.rung] = max(l.failedAt[l.rung], l.upRate)
	}
	l.hasUp = to < l.rung
	if l.hasUp {
		l.upAt, l.upRate = now, c.rate
	}
	l.rung = to
	l.hasSwitch, l.switchedAt = true, now
	// The overhead over the video (audio, muxing, packet headers) was
	// learnt at the old size and rate: per frame it is a share of the
	// send rate that another frame rate changes, and against a video
	// rate a fraction of the old one, the old figure would read as a
	// send rate far behind the encoder (congestion) for good. Learnt
	// again on the next quiet samples.
	c.extra, c.extraN = 0, 0
	l.resetHolds()
	return reason
}

// Rung is the ladder rung now (0 without a ladder).
func (c *Controller) Rung() int { return c.lad.rung }

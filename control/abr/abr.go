// Package abr is the adaptive-bitrate controller every publisher shares: fed
// a sample of transport and queue statistics about twice a second, it answers
// with the video bitrate the encoder should use.
//
// The aim is the one of BELABOX's belacoder (keep latency low on a link whose
// capacity moves, mostly cellular), with what that algorithm lacks:
//
//   - Cuts are multiplicative, apply to what the encoder makes rather than
//     to its target, and are anchored to what the link was seen to carry
//     (a send rate behind the encoder, or what loss says got through), so
//     a sudden drop is followed in one to three samples instead of
//     belacoder's 100 kbit/s + 10 % per 250 ms, or its jump to the minimum
//     when the RTT reaches a third of the SRT latency.
//   - The RTT threshold is relative to a windowed minimum RTT (the path's own
//     baseline) and its measured jitter, not to a configured SRT latency we
//     do not have for RTMP or WHIP.
//   - More than RTT and send buffer: loss, our own queue's delay and drops,
//     a send rate falling behind the encoder (the first sign behind a TCP
//     socket buffer), the transport's own target (WHIP's GCC).
//   - Every noisy signal needs two samples in a row (or a very large excess)
//     to count, and between "congested" (cut) and "healthy" (may increase)
//     there is a band where nothing happens: a steady link never moves.
//   - After a cut nothing increases for a hold time; increases are single
//     steps, each given time to show its effect before the next. Every
//     congestion episode leaves a ceiling (the rate before the probe that
//     caused it, or a step under the rate it struck at) that expires
//     slowly, doubling when the same level fails again: a link whose
//     capacity sits below Max sees a probe every half minute to two
//     minutes, not a sawtooth.
//   - A cut waits for the queue it is draining: while the delay falls, no
//     further cut, so one overshoot does not become three.
//   - A rise in RTT that cuts do not bring down is a path change (a new
//     route, a cell handover), not our queue: the baseline moves instead of
//     the bitrate going to the floor.
//   - An encoder producing far less than asked (a static scene) does not
//     make the controller probe past where it was: such health proves
//     nothing.
//
// Device guards (thermal zones, battery) give a cap that the controller
// applies at once; see ReadGuards.
//
// Below a floor the bitrate alone cannot go (the encoder's coarsest
// quantiser), the controller also steps a resolution and frame-rate
// ladder (Config.Ladder, Decision.Rung): see ladder.go.
package abr

import (
	"math"
	"time"

	"github.com/glassagent/glassagent/media"
)

// maxBitrate is the highest Max accepted: 1 Gbit/s is no video bitrate a
// pair of glasses makes, and keeping well below 2^31 means the arithmetic
// cannot overflow an int on 32-bit (armv7) targets.
const maxBitrate = 1_000_000_000

// Config sets the controller's range and thresholds. Zero fields take the
// default written beside them; negative values are invalid.
type Config struct {
	// Min and Max bound the bitrate, bit/s. Min > 0, Max >= Min.
	Min, Max int
	// Start is the bitrate before the first sample. Default Max: the
	// configured bitrate is what the user asked for; the link gets to say
	// otherwise within a second.
	Start int
	// Interval is the expected time between samples. Default 500 ms. The
	// hold times below are durations, so another interval changes how fast
	// the controller sees more than how patient it is; HealthyIntervals
	// (and the rules that wait "an interval or two") count Intervals.
	Interval time.Duration

	// RTTRise is the smallest RTT excess over the baseline (the minimum
	// smoothed RTT over RTTWindow) that counts as our queue building up.
	// Default 50 ms. The threshold used is the largest of RTTRise,
	// RTTRiseFraction of the baseline and six times the measured jitter
	// (the mean sample-to-sample change), so a long or jittery path does
	// not read its normal wobble as congestion: the baseline is the
	// lowest trough of that wobble, the peaks sit well above it.
	RTTRise time.Duration
	// RTTRiseFraction of the baseline RTT, see RTTRise. Default 0.5.
	RTTRiseFraction float64
	// RTTWindow is how long the RTT and send-buffer baselines remember
	// their minimum. Default 60 s. Long, because a rate a hair over
	// capacity builds its queue slowly (5 ms a second at 0.5 % over): a
	// short window would take that creeping RTT for the baseline and
	// never see the queue. A path that really got longer is recognised
	// sooner than the window: cuts that do not bring the RTT down make it
	// the new baseline (RebaselineCuts).
	RTTWindow time.Duration
	// SendBufferRise is the growth of the transport's send buffer (in time)
	// over its own baseline that counts as congestion. Default 250 ms. A
	// baseline, not an absolute level, because an SRT send buffer holds
	// every unacknowledged packet and so sits at about one RTT on a
	// healthy link.
	SendBufferRise time.Duration
	// QueueDelayHigh is the age of the oldest unit in our own queue that
	// counts as congestion. Default 300 ms: well before media.Queue drops
	// a GOP (at 1 s by default), so the rate goes down before the picture
	// breaks.
	QueueDelayHigh time.Duration
	// LossHigh is the loss fraction that counts as congestion when seen in
	// two samples in a row. Default 0.10. Radio links lose packets in
	// bursts that SRT and WebRTC repair; only sustained loss says the link
	// is full, and only loss that falls with the rate (a path's own loss,
	// found by a probe, is a base the threshold sits over: pathloss.go).
	LossHigh float64
	// ShortfallHigh is how far the send rate may fall short of what the
	// encoder produced (plus the audio and muxing overhead learnt on a
	// healthy link) before it counts as congestion, when seen in two
	// samples in a row. Default 0.10. The earliest sign on a transport
	// with back-pressure (RTMP over TCP), whose socket buffer hides a full
	// link for seconds before our queue grows.
	ShortfallHigh float64
	// TargetDeadband is how far below the current rate a transport's own
	// target (WHIP's GCC) must be before the rate follows it down, and how
	// far above before the rate may climb towards it. Default 0.05: GCC's
	// estimate wobbles by a few percent and each encoder change costs
	// quality.
	TargetDeadband float64

	// Backoff is the factor of a normal cut. Default 0.85. Cuts apply to
	// what the encoder makes (EncoderRate, when below the bitrate), not
	// to the target it may be far under.
	Backoff float64
	// SevereBackoff is the factor of a cut on a signal three times over its
	// threshold or on queue drops. Default 0.7.
	SevereBackoff float64
	// DeliveryMargin: when the link was seen to carry less than we send
	// (the send rate falls behind the encoder, or sustained loss says what
	// got through), a cut goes to this fraction of that delivery rate if
	// that is lower than the multiplicative cut. Default 0.9: just below
	// what the link carries, so the standing queue drains.
	DeliveryMargin float64

	// StepFraction is the size of one increase as a fraction of Max.
	// Default 0.05. A step is never more than 10 % of the current rate: at
	// a low rate 5 % of Max can be a third of the link, and one probe
	// should never overshoot by that much. Below half the rate before the
	// last cut (a stream cut to its floor by a link that has cleared since)
	// the limit is 25 %.
	StepFraction float64
	// HealthyIntervals is how many Intervals every signal must be healthy
	// before a step up, and between steps. Default 4: a step's effect (a
	// queue growing at the overshoot) shows within about two seconds, and
	// the next step waits for it. At or past a level that failed before,
	// a step waits five times as long (10 s): a small overshoot behind a
	// TCP socket buffer takes that long to show.
	HealthyIntervals int
	// DecreaseHold is the time after a cut during which nothing increases.
	// Default 5 s: the queue drains, the baselines settle, and an
	// increase right after a decrease is the oscillation we avoid.
	DecreaseHold time.Duration
	// CeilingHold is how long a failed probe caps later increases at the
	// rate before that probe (or a little under the rate the link was
	// measured to carry, when lower). Default 30 s; it doubles each time a probe at
	// the same level fails again, up to 4x (2 min by default): a link that
	// got better is found within two minutes, one that did not is probed
	// at most every two.
	CeilingHold time.Duration
	// RebaselineCuts is how many cuts on delay alone (RTT, send buffer)
	// that do not bring the delay down make the controller take the delay
	// as the path's new baseline. Default 2.
	RebaselineCuts int

	// Ladder is the resolution and frame-rate ladder: the stream's own
	// size and rate first (rung 0), each next rung smaller in pixels per
	// second. Fewer than two rungs: no ladder, the bitrate alone adapts.
	// See ladder.go for when the controller steps.
	Ladder []Rung
	// FloorBitsPerPixel derives a rung's Floor when it has none:
	// width x height x fps x this. Default 0.03 (720p30: 829 kbit/s,
	// 540p30: 467, 360p30: 207, 360p15: 104, 240p15: 46): about where
	// the usual H.264 ladders cross over (a picture that size is mostly
	// blocks below it, and the next rung down looks better at the same
	// bitrate), a little under them, because each switch costs a
	// keyframe.
	FloorBitsPerPixel float64
	// LadderUpMargin: a step up needs the bitrate at this multiple of the
	// floor of the rung above (and of what the encoder made there when it
	// could not make its target), capped at Max. Default 1.5: between
	// the floor and 1.5 times it, neither step happens, so a link settled
	// near a floor does not switch back and forth.
	LadderUpMargin float64
	// LadderUpHold is how long that must hold, every signal healthy,
	// before the step up. Default 10 s; it doubles (up to 4x) for a rung
	// left again soon after a step up into it.
	LadderUpHold time.Duration
	// LadderDownHold is how long the bitrate must sit at or below the
	// current rung's floor before a step down, unless a congestion cut
	// put it there (that steps at once: the cut is already confirmed
	// congestion, and waiting lengthens the freeze). Default 2 s, so a
	// passing dip from a device cap or a transport target does not cost
	// a keyframe.
	LadderDownHold time.Duration
}

// Rung is one step of the resolution and frame-rate ladder.
type Rung struct {
	Width, Height, FPS int
	// Floor is the bitrate at or below which the controller leaves this
	// rung for a smaller one, bit/s; 0 derives it (FloorBitsPerPixel).
	Floor int
}

// maxRungs bounds the ladder: the controller keeps its per-rung state in
// arrays, so an update allocates nothing.
const maxRungs = 8

// Defaults.
const (
	defInterval        = 500 * time.Millisecond
	defRTTRise         = 50 * time.Millisecond
	defRTTRiseFraction = 0.5
	defRTTWindow       = 60 * time.Second
	defSendBufferRise  = 250 * time.Millisecond
	defQueueDelayHigh  = 300 * time.Millisecond
	defLossHigh        = 0.10
	defTargetDeadband  = 0.05
	defShortfallHigh   = 0.10
	defBackoff         = 0.85
	defSevereBackoff   = 0.7
	defDeliveryMargin  = 0.9
	defStepFraction    = 0.05
	defHealthy         = 4
	defDecreaseHold    = 5 * time.Second
	defCeilingHold     = 30 * time.Second
	defRebaselineCuts  = 2
	defFloorBPP        = 0.03
	defLadderUpMargin  = 1.5
	defLadderUpHold    = 10 * time.Second
	defLadderDownHold  = 2 * time.Second
)

// Validate checks c without filling defaults. Errors carry
// media.CodeInvalidConfig and name the field.
func (c Config) Validate() error {
	bad := func(field string, format string, args ...any) error {
		return media.Errorf(media.CodeInvalidConfig, "abr: "+field+" "+format, args...)
	}
	switch {
	case c.Min <= 0:
		return bad("Min", "%d bit/s: must be positive", c.Min)
	case c.Max > maxBitrate:
		return bad("Max", "%d bit/s: must be at most %d", c.Max, maxBitrate)
	case c.Max < c.Min:
		return bad("Max", "%d bit/s: must be at least Min (%d)", c.Max, c.Min)
	case c.Start != 0 && (c.Start < c.Min || c.Start > c.Max):
		return bad("Start", "%d bit/s: must be 0 (Max) or %d to %d", c.Start, c.Min, c.Max)
	}
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"Interval", c.Interval}, {"RTTRise", c.RTTRise}, {"RTTWindow", c.RTTWindow},
		{"SendBufferRise", c.SendBufferRise}, {"QueueDelayHigh", c.QueueDelayHigh},
		{"DecreaseHold", c.DecreaseHold}, {"CeilingHold", c.CeilingHold},
		{"LadderUpHold", c.LadderUpHold}, {"LadderDownHold", c.LadderDownHold},
	}
	for _, d := range durations {
		// An hour is past any sensible setting and keeps the time
		// arithmetic far from overflowing.
		if d.v < 0 || d.v > time.Hour {
			return bad(d.name, "%v: must be 0 (default) to 1h", d.v)
		}
	}
	if c.Interval > time.Minute {
		return bad("Interval", "%v: must be at most 1m (a controller that looks this rarely is not adapting)", c.Interval)
	}
	if w := c.RTTWindow; w != 0 && w < time.Second {
		return bad("RTTWindow", "%v: must be 0 (default) or at least 1s", w)
	}
	// Fractions: the open interval (0,1) except where noted; 0 is the default.
	fractions := []struct {
		name   string
		v, max float64
	}{
		{"LossHigh", c.LossHigh, 1}, {"ShortfallHigh", c.ShortfallHigh, 1}, {"TargetDeadband", c.TargetDeadband, 1},
		{"Backoff", c.Backoff, 1}, {"SevereBackoff", c.SevereBackoff, 1},
		{"DeliveryMargin", c.DeliveryMargin, 1}, {"StepFraction", c.StepFraction, 1},
		{"RTTRiseFraction", c.RTTRiseFraction, 10},
	}
	for _, f := range fractions {
		if math.IsNaN(f.v) || f.v < 0 || f.v >= f.max {
			return bad(f.name, "%v: must be 0 (default) or in (0, %v)", f.v, f.max)
		}
	}
	// Backoffs below one half would let a single noisy sample halve the
	// picture quality; the floor of a cut is one half anyway.
	if c.Backoff != 0 && c.Backoff < 0.5 {
		return bad("Backoff", "%v: must be 0 (default) or in [0.5, 1)", c.Backoff)
	}
	if c.SevereBackoff != 0 && c.SevereBackoff < 0.5 {
		return bad("SevereBackoff", "%v: must be 0 (default) or in [0.5, 1)", c.SevereBackoff)
	}
	if c.HealthyIntervals < 0 || c.HealthyIntervals > 1000 {
		return bad("HealthyIntervals", "%d: must be 0 (default) to 1000", c.HealthyIntervals)
	}
	if c.RebaselineCuts < 0 || c.RebaselineCuts > 100 {
		return bad("RebaselineCuts", "%d: must be 0 (default) to 100", c.RebaselineCuts)
	}
	return c.validateLadder(bad)
}

// validateLadder checks the ladder and its settings: every rung smaller
// than the one before, in pixels per second and in floor, or a step down
// would not lower the bitrate the picture needs.
func (c Config) validateLadder(bad func(string, string, ...any) error) error {
	if v := c.FloorBitsPerPixel; math.IsNaN(v) || v < 0 || v > 1 {
		return bad("FloorBitsPerPixel", "%v: must be 0 (default) or in (0, 1]", v)
	}
	if v := c.LadderUpMargin; math.IsNaN(v) || v != 0 && (v < 1.1 || v > 10) {
		return bad("LadderUpMargin", "%v: must be 0 (default) or 1.1 to 10 (below 1.1 a link near a floor would switch back and forth)", v)
	}
	if len(c.Ladder) > maxRungs {
		return bad("Ladder", "%d rungs: at most %d", len(c.Ladder), maxRungs)
	}
	bpp := c.FloorBitsPerPixel
	if bpp == 0 {
		bpp = defFloorBPP
	}
	prevRate, prevFloor := 0, 0
	for i, r := range c.Ladder {
		switch {
		case r.Width < 2 || r.Width > 8192 || r.Height < 2 || r.Height > 8192:
			return bad("Ladder", "rung %d: size %dx%d: must be 2 to 8192 each way", i, r.Width, r.Height)
		case r.FPS < 1 || r.FPS > 240:
			return bad("Ladder", "rung %d: %d fps: must be 1 to 240", i, r.FPS)
		case r.Floor < 0 || r.Floor > maxBitrate:
			return bad("Ladder", "rung %d: floor %d bit/s: must be 0 (derived) to %d", i, r.Floor, maxBitrate)
		}
		rate := r.Width * r.Height * r.FPS
		f := r.FloorAt(bpp)
		if i > 0 && rate >= prevRate {
			return bad("Ladder", "rung %d (%dx%d at %d fps) is not smaller than the rung before it in pixels per second", i, r.Width, r.Height, r.FPS)
		}
		if i > 0 && f >= prevFloor {
			return bad("Ladder", "rung %d: floor %d bit/s is not below the floor of the rung before it (%d)", i, f, prevFloor)
		}
		prevRate, prevFloor = rate, f
	}
	return nil
}

// FloorAt is the rung's floor: Floor when set, else derived from its pixel
// rate at bitsPerPixel (0: the default, as Config.FloorBitsPerPixel).
func (r Rung) FloorAt(bitsPerPixel float64) int {
	if r.Floor > 0 {
		return r.Floor
	}
	if bitsPerPixel == 0 {
		bitsPerPixel = defFloorBPP
	}
	return max(int(math.Round(bitsPerPixel*float64(r.Width)*float64(r.Height)*float64(r.FPS))), 1)
}

// MaxRungs is the most rungs a ladder may have, the stream's own included.
const MaxRungs = maxRungs

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	flt := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Start == 0 {
		c.Start = c.Max
	}
	dur(&c.Interval, defInterval)
	dur(&c.RTTRise, defRTTRise)
	dur(&c.RTTWindow, defRTTWindow)
	dur(&c.SendBufferRise, defSendBufferRise)
	dur(&c.QueueDelayHigh, defQueueDelayHigh)
	dur(&c.DecreaseHold, defDecreaseHold)
	dur(&c.CeilingHold, defCeilingHold)
	flt(&c.RTTRiseFraction, defRTTRiseFraction)
	flt(&c.LossHigh, defLossHigh)
	flt(&c.TargetDeadband, defTargetDeadband)
	flt(&c.ShortfallHigh, defShortfallHigh)
	flt(&c.Backoff, defBackoff)
	flt(&c.SevereBackoff, defSevereBackoff)
	flt(&c.DeliveryMargin, defDeliveryMargin)
	flt(&c.StepFraction, defStepFraction)
	if c.HealthyIntervals == 0 {
		c.HealthyIntervals = defHealthy
	}
	if c.RebaselineCuts == 0 {
		c.RebaselineCuts = defRebaselineCuts
	}
	flt(&c.FloorBitsPerPixel, defFloorBPP)
	flt(&c.LadderUpMargin, defLadderUpMargin)
	dur(&c.LadderUpHold, defLadderUpHold)
	dur(&c.LadderDownHold, defLadderDownHold)
	return c
}

// Sample is what the transport and our queue saw over the last interval.
// Zero means unknown for every field but Loss and QueueDrops.
type Sample struct {
	// At is the monotonic time of the sample (e.g. time since the stream
	// started). A sample not later than the previous one is ignored.
	At time.Duration
	// SendRate is the rate measured leaving the transport, bit/s
	// (publish.Stats.Bitrate).
	SendRate int
	// EncoderRate is what the video encoder produced over the last second,
	// bit/s; 0 unknown. It tells a link that falls behind from an encoder
	// that produces less than asked (a static scene).
	EncoderRate int
	// RTT is the transport's round-trip time; 0 unknown (RTMP).
	RTT time.Duration
	// ReceiveRate is what the receiver reports receiving, bit/s, audio and
	// muxing included like SendRate (SRT: the receiving rate in its ACKs);
	// 0 unknown. Below what we send it is what the path carries, measured
	// a round trip after the link filled: the cut can go straight to it
	// instead of finding it in steps, each a keyframe on the ladder.
	ReceiveRate int
	// SendBuffer is the data waiting in the transport, in time (SRT send
	// buffer, RTMP write latency).
	SendBuffer time.Duration
	// Loss is the fraction of packets lost over the last interval, 0..1.
	Loss float64
	// QueueDelay is the age of the oldest unit in our own queue; 0 unknown.
	QueueDelay time.Duration
	// QueueDrops counts the GOP drops of our queue since it was made
	// (media.QueueStats.DroppedGOPs). Only its increase matters.
	QueueDrops uint64
	// Target is the transport's own congestion-control target for the
	// video (WHIP's GCC estimate less the audio bitrate), bit/s; 0 none.
	Target int
	// Cap is the device guards' cap (Guards.Cap), bit/s; 0 none. It
	// applies at once and is never a congestion event.
	Cap int
	// Silence is how long the receiver has said nothing while data went
	// out (publish.Stats.Silence); 0 none or unknown. From 400 ms on the
	// link is out, not slow, and the rate holds (see Controller.Update).
	Silence time.Duration
	// CapReason is why Cap is set (Guards.Cap's reason); the decision
	// reports it. Default "device cap".
	CapReason string
}

// Decision is the controller's answer to a sample.
type Decision struct {
	// Bitrate is the video bitrate to use, bit/s.
	Bitrate int
	// Changed reports that Bitrate differs from the previous decision (or
	// from Start, for the first).
	Changed bool
	// Reason says why the bitrate changed, or why it is held when a rule
	// kept it from moving; "" when nothing notable happened. One of the
	// Reason constants or Sample.CapReason: stable strings, so they can be
	// counted and matched, and producing them allocates nothing. The
	// numbers behind them are in the stats that status events carry.
	Reason string
	// Rung is the ladder rung to use (an index into Config.Ladder; 0
	// without a ladder), RungChanged reports that it differs from the
	// previous decision, and RungReason says why it last changed (one of
	// the ReasonLadder constants).
	Rung        int
	RungChanged bool
	RungReason  string
}

// Reasons.
const (
	ReasonRTT         = "rtt rising"
	ReasonSendBuffer  = "send buffer high"
	ReasonQueueDelay  = "queue delay high"
	ReasonLoss        = "loss high"
	ReasonShortfall   = "send rate behind encoder"
	ReasonQueueDrops  = "queue drops"
	ReasonTarget      = "transport target"
	ReasonCap         = "device cap"
	ReasonRecovering  = "recovering" // increase below the rate before the last cut
	ReasonProbing     = "probing"    // increase above it
	ReasonDraining    = "draining"   // congested, but the queue is draining after a cut
	ReasonHold        = "hold"       // healthy, waiting out DecreaseHold
	ReasonCeiling     = "ceiling"    // healthy, at the ceiling a failed probe left
	ReasonAppLimited  = "encoder below target"
	ReasonPathChange  = "path change"        // delay re-baselined instead of cut
	ReasonAtMinimum   = "at minimum"         // congested at Min: nothing left to cut
	ReasonStaleSample = "stale sample"       // At not after the previous sample's
	ReasonStalled     = "link stalled"       // the receiver silent: held, not cut
	ReasonPathLoss    = "loss is the path's" // a loss cut undone: the loss did not fall with the rate

	ReasonLadderFloor   = "ladder down: bitrate floor"
	ReasonLadderMin     = "ladder down: at minimum bitrate"
	ReasonLadderEncoder = "ladder down: encoder over target"
	ReasonLadderUp      = "ladder up: room"
)

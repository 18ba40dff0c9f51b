package abr

import (
	"math"
	"time"
)

// The congestion signals that are levels with a threshold. Queue drops and a
// transport target are events and handled apart.
const (
	sigRTT = iota
	sigSendBuffer
	sigQueueDelay
	sigLoss
	sigShortfall
	nSignals
)

// Fixed rules, not configuration: they shape the algorithm rather than tune
// it to a link.
const (
	// severeAt: a signal this many times over its threshold counts at once
	// (no second sample needed) and cuts by SevereBackoff. A queue growing
	// that fast is a capacity drop, and waiting one more interval would
	// add seconds of latency.
	severeAt = 3.0
	// rxShortOf: a receiver rate under this fraction of the send rate
	// confirms a delay over its threshold at once (see Update).
	rxShortOf = 0.7
	// healthyBelow: every signal under this fraction of its threshold is
	// healthy. Between it and the threshold nothing moves: the band that
	// keeps a link at its limit from flapping.
	healthyBelow = 0.5
	// quietBelow: the overhead of audio and muxing is learnt only while
	// every queue is this far under its threshold.
	quietBelow = 0.2
	// cutFloor: one cut never goes below this fraction of the current
	// rate, so a one-second stall (the send rate reads near zero) cannot
	// send the bitrate to Min in one step; a real collapse takes two.
	cutFloor = 0.5
	// cutFloorMeasured is the floor when the send rate fell short of the
	// encoder in two samples in a row: the link's rate was measured, and
	// the cut may follow it further down.
	cutFloorMeasured = 0.25
	// maxStepOfRate caps one increase at this fraction of the current
	// rate (see Config.StepFraction), maxRecoverStepOfRate one far below
	// the rate before the last cut.
	maxStepOfRate        = 0.10
	maxRecoverStepOfRate = 0.25
	// maxCeilingMult caps the doubling of CeilingHold.
	maxCeilingMult = 4
	// ceilingOfDelivered: a ceiling learnt from a delivery rate sits this
	// much under it. The estimate is a one-second average over a learnt
	// overhead; a ceiling a hair too high builds a queue so slowly that
	// nothing notices for a minute.
	ceilingOfDelivered = 0.97
	// drainPerInterval: after a cut, a delay must fall by this fraction of
	// its level at the cut per interval to count as draining.
	drainPerInterval = 0.05
	// jitterMult: the RTT threshold is at least this many times the
	// measured jitter (see Config.RTTRise).
	jitterMult = 6
	// rxCapHold: the receiver's rate caps increases for this many
	// DecreaseHolds after a cut it witnessed (10 s by default): past the
	// first step up after the hold.
	rxCapHold = 2
	// stallAfter: a receiver silent this long while we send is an outage
	// (an SRT receiver acknowledges every 10 ms while anything reaches
	// it). Under the two samples a delay needs before it cuts (0.5 s each).
	stallAfter = 400 * time.Millisecond
	// stallGrace: after an outage, the figures hold it for a second more
	// (the backlog, the losses reported late): the rate holds this long.
	stallGrace = 2 * time.Second
	// rebaselineKept: a delay that, after RebaselineCuts cuts, is still at
	// this fraction of its excess at the first cut is not our queue.
	rebaselineKept = 0.75
)

// Controller decides the video bitrate from samples. It is not safe for
// concurrent use: one goroutine (the stream's stats loop) owns it.
type Controller struct {
	cfg Config
	// rateState is the decision and what it rests on (holds, ceilings):
	// what a loss probe's cut changes and undoes in one assignment.
	rateState

	started bool
	last    time.Duration // At of the previous sample

	// Path baselines: windowed minima of the smoothed RTT and send buffer.
	rttBase, sbBase minWindow
	srtt, ssb       time.Duration
	rttJitter       time.Duration
	jitterN         int

	// The previous sample, for the two-in-a-row rule and draining.
	prevP         [nSignals]float64
	prev2Loss     float64 // loss pressure two samples ago
	prevDelayP    float64
	congestedPrev bool

	drops      uint64
	dropsKnown bool

	// The congestion episode the last cut belongs to (consecutive
	// congested samples).
	episodeCuts   int
	pathCuts      int     // cuts in the episode on RTT or send buffer alone
	episodeDelayP float64 // delay pressure at the episode's first cut
	// The raw RTT's range since the episode's first cut (0: unknown): a
	// path that got longer holds its new RTT; a queue swings it.
	epRTTMin, epRTTMax time.Duration
	cutQueueDelay      time.Duration // our queue's delay at the last cut
	cutDelayP          float64       // delay pressure at the last cut
	cutSendBufP        float64       // send-buffer pressure at the last cut
	cutFast            bool          // the last cut was on one sample, the receiver's rate confirming it

	healthyFor time.Duration

	// The previous sample's send and encoder rates (see pairRates).
	prevSend, prevEnc int

	// extra is SendRate - EncoderRate on a quiet link (audio, muxing,
	// packet headers): it turns a send rate into the video rate it carries.
	extra  float64
	extraN int

	lad      ladder
	rungWhy  string // why the rung last changed
	prevRung int

	// stallUntil: the rate holds until then (an outage, see Update).
	stallUntil time.Duration

	// reconnected: Reset was called (the transport reconnected), and the
	// rates are not read until freshUntil, a window after the first
	// sample since.
	reconnected bool
	freshUntil  time.Duration

	// Loss that is the path's (pathloss.go): a probe in progress, the
	// base learnt, the loss averaged to see the base go, and the previous
	// sample's loss.
	probe             lossProbe
	lossBase, lossAvg float64
	prevLoss          float64
}

// rateState is the bitrate decided and the holds and caps on it.
type rateState struct {
	rate int

	// The last cut and increase, and the rates before them.
	hasCut             bool
	lastCut            time.Duration
	rateBeforeCut      int
	hasIncrease        bool
	lastIncrease       time.Duration
	rateBeforeIncrease int

	// A failed probe's ceiling: increases stop at ceiling until
	// ceilingUntil. ceilingLevel and ceilingMult outlive the ceiling so a
	// probe failing again at the same level waits twice as long next time.
	ceiling      int
	ceilingUntil time.Duration
	ceilingLevel int
	ceilingMult  int

	// rxCap caps increases until rxCapUntil: a little under the rate the
	// receiver reported at the last cut it witnessed.
	rxCap      int
	rxCapUntil time.Duration
}

// New makes a controller; cfg must pass Validate.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Controller{cfg: cfg, rateState: rateState{rate: cfg.Start}, lad: newLadder(cfg)}
	c.reset()
	return c, nil
}

// Bitrate is the current decision.
func (c *Controller) Bitrate() int { return c.rate }

// Reset forgets what the controller learned about the path (baselines,
// jitter, ceilings, hold times) and keeps the bitrate. Call it when the
// transport reconnects: the new connection may take another route.
func (c *Controller) Reset() {
	c.reset()
	c.reconnected = true
}

func (c *Controller) reset() {
	*c = Controller{
		cfg:        c.cfg,
		rateState:  rateState{rate: c.rate},
		rttBase:    minWindow{win: c.cfg.RTTWindow},
		sbBase:     minWindow{win: c.cfg.RTTWindow},
		drops:      c.drops,
		dropsKnown: c.dropsKnown,
		// The audio and muxing overhead belongs to the stream, not the
		// path.
		extra:  c.extra,
		extraN: c.extraN,
		// So does the rung: the encoder keeps it across a reconnect.
		lad:      c.lad,
		rungWhy:  c.rungWhy,
		prevRung: c.prevRung,
	}
	c.ceilingMult = 1
	c.lad.resetHolds()
}

// Update takes the sample of the last interval and returns the bitrate to
// use. It allocates nothing.
func (c *Controller) Update(s Sample) Decision {
	s = sanitize(s)
	if c.started && s.At <= c.last {
		return Decision{Bitrate: c.rate, Reason: ReasonStaleSample, Rung: c.lad.rung, RungReason: c.rungWhy}
	}
	iv := c.cfg.Interval
	dt := iv
	if c.started {
		dt = s.At - c.last
	}
	if dt > 4*iv {
		// The previous sample is too old to pair with this one.
		c.forgetPrevious()
	}
	c.started, c.last = true, s.At
	if c.reconnected {
		c.reconnected, c.freshUntil = false, s.At+rateWindow
	}
	if s.At < c.freshUntil {
		// The rates' windows still hold the time the transport was
		// down: a send rate of nothing for part of the window, where the
		// encoder went on (or a backlog sent at once). Compared, they
		// read as a link behind the encoder (a WHIP receiver's restart
		// cut a clean path to 360p and a fifth of the rate, a minute to
		// climb back). The other signals are the new path's own.
		s.SendRate, s.EncoderRate, s.ReceiveRate = 0, 0, 0
	}
	now, old := s.At, c.rate
	reason := ""

	if c.ceiling > 0 && now >= c.ceilingUntil {
		c.ceiling = 0
	}

	// The device cap applies at once: a hot SoC or an empty battery is
	// not a matter of the link, and waiting for congestion would be wrong.
	hi := c.cfg.Max
	if s.Cap > 0 && s.Cap < hi {
		hi = max(s.Cap, c.cfg.Min)
	}
	if c.rate > hi {
		c.rate = hi
		reason = s.CapReason
		if reason == "" {
			reason = ReasonCap
		}
	}

	dropped := c.dropsKnown && s.QueueDrops > c.drops
	c.drops, c.dropsKnown = s.QueueDrops, true

	// An outage (the receiver silent while we send) is not a slow link: no
	// bitrate gets through it, so a cut helps nothing, and what cuts learn
	// (a ceiling, rungs down) held the stream small long after the link
	// was back (the SRT fault matrix, 3 s outage: the send rate back 32 s
	// after, the stream at its own size 60 s after, climbing from Min).
	// The rate holds through it and for stallGrace after, while the
	// backlog and the outage's losses (reported once the link is back)
	// pass through the one-second figures; control then resumes from the
	// rate before, and a link that came back slower is cut from there.
	if s.Silence >= stallAfter {
		c.stallUntil = now + stallGrace
	}
	if now < c.stallUntil {
		// Nothing the outage's samples show may pair with what follows,
		// nor judge a probe.
		c.forgetPrevious()
		c.probe.on = false
		c.episodeCuts, c.pathCuts = 0, 0
		c.epRTTMin, c.epRTTMax = 0, 0
		c.healthyFor = 0
		if reason == "" {
			reason = ReasonStalled
		}
		c.prevRung = c.lad.rung
		return Decision{Bitrate: c.rate, Changed: c.rate != old, Reason: reason, Rung: c.lad.rung, RungReason: c.rungWhy}
	}

	p, ph := c.pressures(s, now)

	// A signal counts when over its threshold in two samples in a row, or
	// (delays only) severely over it once. Loss always needs two of the
	// last three samples: radio links lose lone bursts that ARQ repairs
	// (and a capacity drop shows in the delays first), but a full
	// bottleneck loses in bursts too, every other sample.
	//
	// A delay over its threshold counts once, too, when the receiver
	// reports taking in well under what we send: the queue is not a
	// jitter spike but a link that carries a fraction of the stream, and
	// the second sample would come after half a second more of excess
	// (at half the capacity, a 200 ms bottleneck queue is full 0.4 s
	// after the drop: everything past it is lost, keyframes included).
	rxShort := s.ReceiveRate > 0 && s.SendRate > 0 && float64(s.ReceiveRate) < rxShortOf*float64(s.SendRate)
	var cong [nSignals]bool
	anyDelay := false
	slow := false // a delay counts without the receiver's word
	for i := sigRTT; i <= sigQueueDelay; i++ {
		slow = slow || p[i] > 1 && (c.prevP[i] > 1 || p[i] >= severeAt)
		cong[i] = p[i] > 1 && (c.prevP[i] > 1 || p[i] >= severeAt || rxShort)
		anyDelay = anyDelay || cong[i]
	}
	cong[sigLoss] = p[sigLoss] > 1 && (c.prevP[sigLoss] > 1 || c.prev2Loss > 1)
	cong[sigShortfall] = p[sigShortfall] > 1 && c.prevP[sigShortfall] > 1
	pathLoss := false
	if c.probe.on {
		if anyDelay || dropped || cong[sigShortfall] {
			// Congestion shows by itself: the probe's cut was right.
			c.probe.on = false
		} else if pathLoss = c.judgeProbe(now, s, hi); pathLoss {
			// The loss before, measured against no base, must not pair
			// with what follows (prev2Loss takes prevP's at the end).
			p[sigLoss] = c.lossPressure(s.Loss)
			ph[sigLoss] = p[sigLoss]
			cong[sigLoss] = false
			c.prevP[sigLoss] = 0
		}
	}
	c.followLossBase(s)
	congested := anyDelay || cong[sigLoss] || cong[sigShortfall] || dropped
	delayP := max(p[sigRTT], p[sigSendBuffer], p[sigQueueDelay])

	sinceCut := time.Duration(math.MaxInt64)
	if c.hasCut {
		sinceCut = now - c.lastCut
	}
	cut, severe, why, bestP := false, false, "", 0.0
	consider := func(on bool, pressure float64, r string) {
		if on && pressure > bestP {
			cut, why, bestP = true, r, pressure
		}
	}
	if dropped && sinceCut >= 4*iv {
		// Our queue overflowed a second of media: far over capacity. Drops
		// within two seconds of a cut come from the backlog before it.
		cut, severe, why, bestP = true, true, ReasonQueueDrops, math.Inf(1)
	}
	// Loss and a send rate short of what the encoder made are rates, not
	// levels: they do not fall while a queue drains, they fall once the
	// rate is right. One interval after a cut they still measure partly
	// the old rate (both are averages over about a second), so they wait
	// two.
	// A probe in progress (pathloss.go) has a cut on loss to judge first.
	consider(cong[sigLoss] && sinceCut >= 2*iv && !c.probe.on, p[sigLoss], ReasonLoss)
	consider(cong[sigShortfall] && sinceCut >= 2*iv, p[sigShortfall], ReasonShortfall)
	if anyDelay {
		// After a cut in this episode, a delay that falls means the queue
		// is draining: cutting again would undershoot. Falling means by
		// at least 5 % of its level at the cut per interval since: a
		// delay that merely stopped growing is a full bottleneck buffer
		// (the tail drops instead of queueing), not a drain. Our own
		// queue reports the age of its oldest unit, which only shows a
		// cut once the units made after it reach the head: until then it
		// is draining too. A drain that takes longer than DecreaseHold is
		// too slow for live video.
		drained := 1 - drainPerInterval*float64(sinceCut)/float64(iv)
		falling := delayP <= c.prevDelayP && delayP <= c.cutDelayP*drained
		// Our send buffer falling is a drain whatever the RTT does: the
		// link takes more than we give it, so the rate is under its
		// capacity already. Behind a TCP socket the bottleneck's queue
		// stays full (the RTT high) until the socket's backlog is out,
		// seconds after the cut; cutting on that RTT took RTMP to a third
		// of the link in four cuts.
		falling = falling || c.cutSendBufP > 1 && p[sigSendBuffer] <= c.prevP[sigSendBuffer] && p[sigSendBuffer] <= c.cutSendBufP*drained
		// Until the cut shows in what we send (the rates are one-second
		// averages; a queue grows as long as they are over the link), the
		// delays keep rising from what was sent before it: their peak,
		// not their level at the cut, is what a drain falls from. A cut
		// on a single sample (fast) came an interval sooner than one on
		// two, and waits that interval more.
		grace := sinceCut <= c.cutQueueDelay+iv || c.cutFast && sinceCut <= c.cutQueueDelay+2*iv
		if grace {
			c.cutDelayP = max(c.cutDelayP, delayP)
			c.cutSendBufP = max(c.cutSendBufP, p[sigSendBuffer])
		}
		draining := c.congestedPrev && c.episodeCuts > 0 && sinceCut < c.cfg.DecreaseHold &&
			(falling || grace)
		if !draining {
			consider(cong[sigRTT], p[sigRTT], ReasonRTT)
			consider(cong[sigSendBuffer], p[sigSendBuffer], ReasonSendBuffer)
			consider(cong[sigQueueDelay], p[sigQueueDelay], ReasonQueueDelay)
		}
	}
	// A longer path delays packets but loses none and keeps up with the
	// encoder; a full bottleneck does neither, if only every other sample.
	lossy := max(p[sigLoss], c.prevP[sigLoss], c.prev2Loss) >= healthyBelow
	behind := max(p[sigShortfall], c.prevP[sigShortfall]) >= healthyBelow
	pathOnly := !dropped && !lossy && !behind && !cong[sigQueueDelay]
	if c.episodeCuts > 0 && s.RTT > 0 && c.epRTTMax > 0 {
		c.epRTTMin, c.epRTTMax = min(c.epRTTMin, s.RTT), max(c.epRTTMax, s.RTT)
	}
	if cut && pathOnly && c.pathCuts >= c.cfg.RebaselineCuts && delayP >= rebaselineKept*c.episodeDelayP && c.rttSteady(now) {
		// Cuts that should have drained our queue left the RTT where it
		// was: the path itself got longer. Take it as the new baseline
		// rather than cut to the floor.
		c.rebaseline(now)
		cut, why = false, ReasonPathChange
		congested = false
		p = [nSignals]float64{}
		delayP = 0
	}

	switch {
	case cut:
		if c.rate <= c.cfg.Min {
			reason = ReasonAtMinimum
			break
		}
		if why == ReasonLoss && !anyDelay && !dropped && !cong[sigShortfall] && c.episodeCuts == 0 {
			// Loss alone: the cut is a probe of whose loss it is.
			c.startProbe(now, s)
		}
		f := c.cfg.Backoff
		if severe || bestP >= severeAt {
			f = c.cfg.SevereBackoff
		}
		// Cut what the encoder makes, not what it was allowed: an encoder
		// at a third of its target (a simple scene) would not notice a
		// target cut by a fifth, and the link would stay full.
		from := float64(c.rate)
		if s.EncoderRate > 0 {
			from = min(from, float64(s.EncoderRate))
		}
		r := from * f
		d, measured, byReceiver := c.delivered(s)
		if d > 0 {
			r = min(r, d*c.cfg.DeliveryMargin)
		}
		floor := cutFloor
		if measured && cong[sigShortfall] || byReceiver {
			// Two samples in a row measured the link's rate, or the
			// receiver did (on a link the cut confirms is full): trust
			// it further.
			floor = cutFloorMeasured
		}
		r = max(r, from*floor)
		if byReceiver {
			// What the receiver saw arriving holds the climb under it
			// for a while, so that the first step up after the cut does
			// not overshoot the link just measured. A short while, and
			// no ceiling level (no doubling, no slow steps past it):
			// it is a speed, not an average (see delivered), and a link
			// that freed should be found as fast as without it.
			c.rxCap, c.rxCapUntil = c.ceilingFrom(d), now+rxCapHold*c.cfg.DecreaseHold
		}
		if !measured {
			d = 0
		}
		if c.episodeCuts == 0 {
			c.epRTTMin, c.epRTTMax = s.RTT, s.RTT
			c.firstCut(now, delayP, d)
		} else if lvl := c.ceilingFrom(d); lvl > 0 && c.ceiling > 0 && lvl < c.ceiling {
			// The send rate is a one-second average: a later cut in the
			// episode sees the link's rate with less of the time before
			// the drop in it.
			c.ceiling, c.ceilingLevel = lvl, lvl
		}
		c.episodeCuts++
		c.cutQueueDelay = s.QueueDelay
		c.cutDelayP = delayP
		c.cutSendBufP = p[sigSendBuffer]
		c.cutFast = rxShort && !slow
		if pathOnly {
			c.pathCuts++
		}
		c.cutTo(now, c.clamp(r, hi))
		reason = why
	case congested:
		reason = ReasonDraining
		c.healthyFor = 0
	case why == ReasonPathChange:
		reason = why
		c.healthyFor = 0
	case pathLoss:
		reason = ReasonPathLoss
	}

	// A transport's own congestion control (GCC) knows its link: follow it
	// down, past a dead band that ignores its wobble.
	targetCut := false
	if s.Target > 0 && float64(s.Target) < float64(c.rate)*(1-c.cfg.TargetDeadband) {
		if r := c.clamp(float64(s.Target), hi); r < c.rate {
			c.cutTo(now, r)
			reason = ReasonTarget
			targetCut = true
			// The transport's congestion control saw congestion.
			c.probe.on = false
		}
	}

	if !congested && !dropped && (!c.hasCut || sinceCut >= c.cfg.DecreaseHold) {
		c.learnOverhead(s, ph)
	}
	if !congested && c.rate == old {
		reason = c.maybeIncrease(s, now, dt, ph, dropped, hi, reason)
	}

	calm := !congested && !dropped && sinceCut >= c.cfg.DecreaseHold
	for _, v := range ph {
		calm = calm && v < healthyBelow
	}
	// While a probe runs (pathloss.go) the ladder holds: its cut may be
	// undone, and a keyframe at a smaller size would be for nothing.
	if !c.probe.on {
		if why := c.stepLadder(s, now, cut || targetCut, calm); why != "" {
			c.rungWhy = why
		}
	}

	c.congestedPrev = congested
	c.prevSend, c.prevEnc = s.SendRate, s.EncoderRate
	c.prev2Loss = c.prevP[sigLoss]
	c.prevLoss = s.Loss
	c.prevP = p
	c.prevDelayP = delayP
	if !congested {
		c.episodeCuts, c.pathCuts = 0, 0
		c.epRTTMin, c.epRTTMax = 0, 0
	}
	d := Decision{Bitrate: c.rate, Changed: c.rate != old, Reason: reason,
		Rung: c.lad.rung, RungChanged: c.lad.rung != c.prevRung, RungReason: c.rungWhy}
	c.prevRung = c.lad.rung
	return d
}

// forgetPrevious drops what the two-in-a-row rules and the rate pairing
// keep of the previous samples.
func (c *Controller) forgetPrevious() {
	c.prevP = [nSignals]float64{}
	c.prevSend, c.prevEnc = 0, 0
	c.prev2Loss, c.prevDelayP = 0, 0
	c.congestedPrev = false
}

// pressures returns each signal over its threshold (1 = at the threshold):
// p from this sample's raw values, for congestion; ph from the smoothed
// values, for health, so a single noisy sample neither blocks nor allows an
// increase.
func (c *Controller) pressures(s Sample, now time.Duration) (p, ph [nSignals]float64) {
	if s.RTT > 0 {
		prev := c.srtt
		if prev == 0 {
			c.srtt = s.RTT
		} else {
			c.srtt = (c.srtt + s.RTT) / 2
		}
		// The baseline is a minimum of the smoothed RTT: a raw minimum
		// locks onto the lowest trough of the jitter and makes a normal
		// sample look like queueing.
		c.rttBase.add(now, c.srtt)
		base, _ := c.rttBase.min(now)
		margin := max(c.cfg.RTTRise, time.Duration(float64(base)*c.cfg.RTTRiseFraction), jitterMult*c.rttJitter)
		p[sigRTT] = max(0, float64(s.RTT-base)/float64(margin))
		ph[sigRTT] = max(0, float64(c.srtt-base)/float64(margin))
		if prev > 0 && !c.congestedPrev && ph[sigRTT] < 1 && (!c.hasCut || now-c.lastCut >= c.cfg.DecreaseHold) {
			// Jitter is learnt only away from congestion and the drain
			// after a cut (the RTT falling by hundreds of milliseconds a
			// sample), so a queue neither raises its own threshold nor
			// leaves it raised; a change larger than RTTRise counts as
			// RTTRise, so no single sample moves it far.
			d := s.RTT - prev
			if d < 0 {
				d = -d
			}
			// A running mean over the first eight samples, an average
			// over the last eight after: a jittery link must not be read
			// as congested while the estimate is still near zero.
			c.jitterN = min(c.jitterN+1, 8)
			c.rttJitter += (min(d, c.cfg.RTTRise) - c.rttJitter) / time.Duration(c.jitterN)
		}
	}
	if s.SendBuffer > 0 {
		if c.ssb == 0 {
			c.ssb = s.SendBuffer
		} else {
			c.ssb = (c.ssb + s.SendBuffer) / 2
		}
		// Zero readings stay out of the baseline: an SRT buffer is empty
		// only for an instant, and a zero baseline would read a long
		// path's normal one-RTT buffer as congestion.
		c.sbBase.add(now, c.ssb)
	} else {
		c.ssb /= 2
	}
	if base, ok := c.sbBase.min(now); ok {
		p[sigSendBuffer] = max(0, float64(s.SendBuffer-base)/float64(c.cfg.SendBufferRise))
		ph[sigSendBuffer] = max(0, float64(c.ssb-base)/float64(c.cfg.SendBufferRise))
	}
	p[sigQueueDelay] = float64(s.QueueDelay) / float64(c.cfg.QueueDelayHigh)
	ph[sigQueueDelay] = p[sigQueueDelay]
	p[sigLoss] = c.lossPressure(s.Loss)
	ph[sigLoss] = p[sigLoss]
	if s.SendRate > 0 && s.EncoderRate > 0 {
		short := 1 - float64(s.SendRate)/(float64(s.EncoderRate)+c.extra)
		p[sigShortfall] = max(0, short/c.cfg.ShortfallHigh)
		send, enc := c.pairRates(s)
		ph[sigShortfall] = max(0, (1-send/(enc+c.extra))/c.cfg.ShortfallHigh)
	}
	return p, ph
}

// pairRates is the send and encoder rates averaged over this sample and the
// previous one, for health (congestion keeps the raw rates and needs two
// samples in a row anyway). The two are one-second windows taken at two
// points of the pipeline, and at a low frame rate a keyframe falls in one
// window and not yet in the other every other sample: +20 % and -2 % in
// turn at 360p15 over RTMP, which read as a backlog draining one sample and
// the send rate behind the next, and kept a stream from ever climbing.
func (c *Controller) pairRates(s Sample) (send, enc float64) {
	if c.prevSend <= 0 || c.prevEnc <= 0 {
		return float64(s.SendRate), float64(s.EncoderRate)
	}
	return float64(s.SendRate+c.prevSend) / 2, float64(s.EncoderRate+c.prevEnc) / 2
}

// delivered estimates the video rate the link carried, or 0 when nothing
// says it carried less than we sent. Three witnesses: a send rate behind
// what the encoder produced (a transport with back-pressure: RTMP), the
// rate the receiver reports (SRT), and loss (what got through on a
// transport without back-pressure: SRT, WebRTC). measured reports that the
// send rate was the witness, byReceiver the receiver's rate. Only the send
// rate, a one-second average of what left, is remembered as a ceiling:
// loss is too rough (bursts, retransmissions counted in), and the
// receiver's rate is a packet arrival speed, right while a queue spaces
// the packets (which is when the cut uses it) but no measure of the
// average a climb may come back to.
func (c *Controller) delivered(s Sample) (d float64, measured, byReceiver bool) {
	ref := float64(c.rate)
	if s.EncoderRate > 0 {
		ref = min(ref, float64(s.EncoderRate))
	}
	// Half the shortfall threshold: past the noise of two one-second
	// averages taken at different points of the pipeline.
	below := ref * (1 - c.cfg.ShortfallHigh/2)
	if s.SendRate > 0 {
		if v := float64(s.SendRate) - c.extra; v > 0 && v < below {
			d, measured = v, true
		}
	}
	if s.ReceiveRate > 0 {
		if v := float64(s.ReceiveRate) - c.extra; v > 0 && v < below && (d == 0 || v < d) {
			d, byReceiver = v, true
		}
	}
	// Of the loss, only what is over the path's own says the link is full.
	if x := s.Loss - c.lossBase; x >= c.cfg.LossHigh {
		if v := ref * (1 - x); d == 0 || v < d {
			d = v
		}
	}
	return d, measured, byReceiver
}

// firstCut records, at the first cut of a congestion episode, what the
// episode says about the link, as a ceiling for later increases. When our
// last probe caused it, the rate before that probe; otherwise the rate it
// struck at is over capacity, and one probe step under it is where a climb
// should stop (a rate a hair over capacity fills the queue so slowly that
// it looks healthy long after it was reached). When the link was measured
// to carry less than we sent (delivered > 0), a little under that. The
// lowest wins, a ceiling still standing included.
func (c *Controller) firstCut(now time.Duration, delayP, delivered float64) {
	c.episodeDelayP = delayP
	lvl := c.rate - c.step(c.rate, false)
	probeFailed := c.hasIncrease && now-c.lastIncrease <= c.probeWindow()
	if probeFailed {
		lvl = c.rateBeforeIncrease
	}
	if d := c.ceilingFrom(delivered); d > 0 {
		lvl = min(lvl, d)
	}
	if c.ceiling > 0 {
		lvl = min(lvl, c.ceiling)
	}
	lvl = max(lvl, c.cfg.Min)
	c.hasIncrease = false
	switch {
	case lvl <= c.cfg.Min:
		// A ceiling at the floor says only that the link carried no more
		// than Min: congestion episodes there repeat for as long as the
		// link is cut, and doubling the hold each time would keep the
		// stream at Min for two minutes after it cleared.
		c.ceilingMult = 1
	case c.ceilingLevel > 0 && absInt(lvl-c.ceilingLevel) <= c.step(lvl, false) && !probeFailed:
		// The same level again, but no probe of ours failed just before
		// (a link still cut, or an overshoot that took longer than the
		// probe window to show): the hold doubles once, not up to four
		// times, so a link that stayed cut for a while is probed a
		// minute after it cleared, not two.
		c.ceilingMult = min(c.ceilingMult*2, 2)
	case c.ceilingLevel > 0 && absInt(lvl-c.ceilingLevel) <= c.step(lvl, false):
		c.ceilingMult = min(c.ceilingMult*2, maxCeilingMult)
	default:
		c.ceilingMult = 1
	}
	c.ceilingLevel = lvl
	c.ceiling = lvl
	c.ceilingUntil = now + c.cfg.CeilingHold*time.Duration(c.ceilingMult)
}

// ceilingFrom is the ceiling a measured delivery rate gives (0 for none).
func (c *Controller) ceilingFrom(delivered float64) int {
	d := int(delivered * ceilingOfDelivered)
	if d <= 0 {
		return 0
	}
	return max(d/1000*1000, c.cfg.Min)
}

// probeWindow is how long after an increase congestion is blamed on it.
// Generous (five increase intervals, 10 s by default) because behind a TCP
// socket buffer a small overshoot takes seconds to show; while climbing,
// congestion a capacity drop causes is then blamed on the probe too, which
// costs nothing: its ceiling lies above the new capacity anyway.
func (c *Controller) probeWindow() time.Duration {
	return 5 * time.Duration(c.cfg.HealthyIntervals) * c.cfg.Interval
}

func (c *Controller) cutTo(now time.Duration, r int) {
	if r >= c.rate {
		return
	}
	if !c.hasCut || now-c.lastCut >= c.cfg.DecreaseHold {
		// Recovery is judged against the rate before this run of cuts.
		c.rateBeforeCut = c.rate
	}
	c.rate = r
	c.hasCut, c.lastCut = true, now
	c.healthyFor = 0
}

// maybeIncrease raises the rate one step when every signal has been healthy
// long enough. It returns the reason to report.
func (c *Controller) maybeIncrease(s Sample, now, dt time.Duration, ph [nSignals]float64, dropped bool, hi int, reason string) string {
	healthy := !dropped
	for _, v := range ph {
		healthy = healthy && v < healthyBelow
	}
	if s.SendRate > 0 && s.EncoderRate > 0 {
		// Sending more than the encoder makes is a backlog draining at
		// the link's full rate: the link has no room yet. Over two
		// samples (pairRates).
		send, enc := c.pairRates(s)
		surplus := send/(enc+c.extra) - 1
		healthy = healthy && surplus < c.cfg.ShortfallHigh/2
	}
	if s.Target > 0 && float64(s.Target) <= float64(c.rate)*(1+c.cfg.TargetDeadband) {
		// The dead band works both ways: a target wobbling a few percent
		// above the rate is no room to climb into.
		healthy = false
		if reason == "" {
			reason = ReasonTarget
		}
	}
	if !healthy {
		c.healthyFor = 0
		return reason
	}
	// An encoder producing far less than asked (a static scene) tests
	// nothing by a higher target: health proves nothing about rates above
	// what was in use before the last cut. Climbing back to that rate
	// stays allowed; it is where the stream was (and, at the start, what
	// the user asked for).
	produced := s.EncoderRate
	if produced == 0 {
		produced = s.SendRate
	}
	if produced > 0 && produced < c.rate/2 && c.rate >= c.rateBeforeCut {
		c.healthyFor = 0
		if reason == "" {
			reason = ReasonAppLimited
		}
		return reason
	}
	c.healthyFor += min(dt, 2*c.cfg.Interval)
	if c.ceilingLevel > 0 && c.hasIncrease && c.rate > c.ceilingLevel && now-c.lastIncrease >= c.probeWindow() {
		// A probe past the level that failed last held: the link carries
		// more now. (Past it, not from below it: a cut can land above
		// the level, and the climb from there must not stay slow.)
		c.ceilingLevel, c.ceilingMult = 0, 1
	}
	need := time.Duration(c.cfg.HealthyIntervals) * c.cfg.Interval
	if c.ceilingLevel > 0 && c.rate >= c.ceilingLevel {
		// At or past a level that failed before, a step must hold for the
		// whole probe window before the next: a small overshoot takes
		// that long to show behind a TCP socket buffer.
		need = c.probeWindow()
	}
	if c.healthyFor < need {
		return reason
	}
	if c.hasCut && now-c.lastCut < c.cfg.DecreaseHold {
		if reason == "" {
			reason = ReasonHold
		}
		return reason
	}
	up := hi
	if c.ceiling > 0 && c.ceiling < up {
		up = c.ceiling
	}
	if c.rxCap > 0 && now < c.rxCapUntil && c.rxCap < up {
		up = max(c.rxCap, c.rate)
	}
	if s.Target > 0 {
		up = min(up, max(s.Target, c.cfg.Min))
	}
	// Far below the rate before the last cut (under half of it: a stream
	// cut to its floor by a link that has since cleared) the stream climbs
	// back in steps of up to a quarter of the rate, where a tenth would
	// take minutes. Nearer, a step is a probe, a tenth at most.
	recovering := c.rate < c.rateBeforeCut
	fast := c.rate < c.rateBeforeCut/2
	n := min(c.clampUp(float64(c.rate+c.step(c.rate, fast)), hi), up)
	if n <= c.rate {
		if reason == "" && up == c.ceiling && c.rate < hi {
			reason = ReasonCeiling
		}
		return reason
	}
	c.rateBeforeIncrease = c.rate
	c.hasIncrease, c.lastIncrease = true, now
	c.healthyFor = 0
	if recovering {
		reason = ReasonRecovering
	} else {
		reason = ReasonProbing
	}
	c.rate = n
	return reason
}

// learnOverhead follows SendRate - EncoderRate on a quiet link: audio and
// muxing ride on top of the video, mostly a constant bitrate (audio) rather
// than a ratio. Not right after a cut, when a backlog drains at the link's
// full rate and the difference says nothing about overhead; never below 0,
// so a link a little behind cannot ratchet the reference of the shortfall
// down.
func (c *Controller) learnOverhead(s Sample, ph [nSignals]float64) {
	if s.SendRate <= 0 || s.EncoderRate <= 0 {
		return
	}
	for i, v := range ph {
		// Quieter than healthy: a link a little over capacity fills the
		// queues slowly, and a send rate it limits is no overhead.
		if i != sigShortfall && v >= quietBelow {
			return
		}
	}
	// Not capped at the video rate: on a small rung of the ladder the
	// audio and the packets' own overhead are more than the video.
	x := max(float64(s.SendRate-s.EncoderRate), 0)
	c.extraN = min(c.extraN+1, 16)
	c.extra += (x - c.extra) / float64(c.extraN)
}

// step is one increase at rate r.
func (c *Controller) step(r int, recovering bool) int {
	frac := maxStepOfRate
	if recovering {
		frac = maxRecoverStepOfRate
	}
	st := min(c.cfg.StepFraction*float64(c.cfg.Max), frac*float64(r))
	return max(int(st), 1000)
}

// clamp rounds a cut down to whole kbit/s (round numbers in logs, and no
// encoder change smaller than that) and keeps it in [Min, hi].
func (c *Controller) clamp(r float64, hi int) int {
	v := int(r)
	if v >= 1000 {
		v = v / 1000 * 1000
	}
	return min(max(v, c.cfg.Min), hi)
}

// clampUp is clamp for increases, which round up so a step is never lost.
func (c *Controller) clampUp(r float64, hi int) int {
	v := int(math.Ceil(r/1000)) * 1000
	return min(max(v, c.cfg.Min), hi)
}

// rttSteady: the RTT held still since the episode's first cut, its range
// under a third of its rise above the baseline, as a longer path's does
// (a handover: 40 ms to 200 ms, then within a few ms). A standing queue
// at a link the stream still overfills swings it by hundreds of ms (RTMP
// over a cut link, 317 to 575 ms while it rose from 5 ms), and taking
// that for the path's new baseline left the stream above the link (CI:
// TestAdaptToBandwidthCutRTMP, the encoder making less than asked at
// 360p15, so the send rate did not look behind). Unknown RTT (a send
// buffer alone): steady, as before.
func (c *Controller) rttSteady(now time.Duration) bool {
	if c.epRTTMax == 0 {
		return true
	}
	base, ok := c.rttBase.min(now)
	if !ok || c.srtt <= base {
		return true
	}
	return c.epRTTMax-c.epRTTMin <= (c.srtt-base)/3
}

func (c *Controller) rebaseline(now time.Duration) {
	c.rttBase.reset()
	c.sbBase.reset()
	if c.srtt > 0 {
		c.rttBase.add(now, c.srtt)
	}
	if c.ssb > 0 {
		c.sbBase.add(now, c.ssb)
	}
	c.episodeCuts, c.pathCuts = 0, 0
	c.epRTTMin, c.epRTTMax = 0, 0
	c.healthyFor = 0
}

// sanitize makes a sample from a confused transport harmless: negative
// durations and rates are unknown, loss is a fraction.
func sanitize(s Sample) Sample {
	if s.RTT < 0 {
		s.RTT = 0
	}
	if s.SendBuffer < 0 {
		s.SendBuffer = 0
	}
	if s.QueueDelay < 0 {
		s.QueueDelay = 0
	}
	if s.SendRate < 0 {
		s.SendRate = 0
	}
	if s.ReceiveRate < 0 {
		s.ReceiveRate = 0
	}
	if s.EncoderRate < 0 {
		s.EncoderRate = 0
	}
	if s.Target < 0 {
		s.Target = 0
	}
	if s.Cap < 0 {
		s.Cap = 0
	}
	switch {
	case math.IsNaN(s.Loss) || s.Loss < 0:
		s.Loss = 0
	case s.Loss > 1:
		s.Loss = 1
	}
	return s
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

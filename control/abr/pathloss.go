package abr

import "time"

// Loss that is the path's own. A radio link loses packets whatever we send
// (interference, a weak signal): SRT and WebRTC repair them, and cutting the
// rate only makes the picture worse. A full bottleneck loses what we send
// over its rate. Loss alone cannot tell the two apart, but a cut can: under
// congestion the loss falls with the rate (a policer or a shallow tail-drop
// queue at rate R loses 1 - R/send, and the cut goes under what got
// through, so to nearly nothing); random loss stays where it was. Before
// this the SRT fault matrix's 15 % random loss took the stream from 1.5
// Mbit/s to Min and 240p15, 56 s to come back, where ffmpeg, not adapting,
// kept 30 fps and every frame.
//
// So a cut on loss alone (no delay over its threshold, no send rate behind,
// no queue drops) at the start of an episode is a probe: the ladder holds
// while it runs, further loss cuts wait, and probeAfter samples after its
// first second (2.5 s after it, by default) the loss is compared with what
// the same path would lose at the lower rate if it were congested. Nearer
// the loss before: the loss is the path's. The rate goes back to where it
// was (with the ceiling the cut set), and from then on only loss over that
// base counts, with a threshold widened by a quarter of the base (a loss
// rate measured over a few dozen packets a second is noisier the higher it
// is). Nearer the congested figure: the cut was right, and the episode goes
// on as any other. libwebrtc's loss-based estimator
// (v2) keeps a like "inherent loss"; it finds it by fitting, we by asking.
const (
	// probeAfter: samples after the probe cut that measure the lower
	// rate, from the second on (the loss and the send rate are averages
	// over about a second, see Update's loss rule). Four: SRT's loss moves
	// once a second, over some fifty packets at 720p on an easy picture,
	// so two of its windows.
	probeAfter = 4
	// probeSendFell: the probe tells only once the send rate fell this far
	// under the rate before it (an encoder slow to follow its target). Not
	// far: openh264 at 720p on an easy picture makes no less than about
	// 360 kbit/s, and audio and muxing add a constant, so a cut to a
	// quarter showed as 0.84-0.9 of the send rate; the comparison below
	// weighs how far it fell.
	probeSendFell = 0.95
	// probeGiveUp: a probe whose send rate did not fall within this many
	// intervals is taken for congestion, as before probes.
	probeGiveUp = 8
	// probeToward: the loss after the cut is the path's when it lies this
	// far, or farther, from what congestion would leave towards the loss
	// before. A quarter: the cut goes under what got through, so a
	// congested path loses next to nothing after it (the closed-loop
	// shallow bottleneck: 3 % from 50 %), while the loss before is the
	// unlucky high that met the threshold (10-11 % of fifty packets a
	// second on a path losing 5 %), and what follows is the path's mean.
	probeToward = 0.25
	// lossBaseGone: a learnt base is forgotten once the loss (averaged)
	// is under this fraction of it: the path's loss went.
	lossBaseGone = 0.5
	// lossAvgN: the loss average behind lossBaseGone, over about this
	// many samples.
	lossAvgN = 8
)

// lossProbe is a probe in progress and what its cut changed, restored when
// the loss turns out to be the path's.
type lossProbe struct {
	on  bool
	at  time.Duration
	n   int     // samples since the cut that measured the lower rate
	sum float64 // their loss
	snd float64 // their send rate
	// Before the cut: the loss of the samples that caused it, the send
	// rate, and the controller's decision state.
	loss  float64
	send  float64
	saved rateState
}

// startProbe records the state a loss-only cut is about to change.
func (c *Controller) startProbe(now time.Duration, s Sample) {
	c.probe = lossProbe{
		on: true, at: now,
		loss: (s.Loss + c.prevLoss) / 2, send: float64(s.SendRate),
		saved: c.rateState,
	}
	if c.prevLoss == 0 {
		c.probe.loss = s.Loss
	}
}

// judgeProbe follows a probe in progress. It reports true when the loss was
// found to be the path's: the cut is undone, and the sample is not
// congested.
func (c *Controller) judgeProbe(now time.Duration, s Sample, hi int) bool {
	pr := &c.probe
	since := now - pr.at
	if since < 2*c.cfg.Interval {
		return false
	}
	pr.n++
	pr.sum += s.Loss
	pr.snd += float64(s.SendRate)
	if pr.n < probeAfter {
		return false
	}
	after, send := pr.sum/float64(pr.n), pr.snd/float64(pr.n)
	if pr.send <= 0 || send <= 0 || send > probeSendFell*pr.send {
		// The lower rate is not on the wire yet: nothing to compare.
		if since >= probeGiveUp*c.cfg.Interval {
			pr.on = false
		}
		return false
	}
	pr.on = false
	// A congested path delivered (1 - loss) of the old send rate, less the
	// path's own loss known before, and at the new one loses what is over
	// that, and its own.
	excess := max(0, pr.loss-c.lossBase)
	congested := min(pr.loss, c.lossBase+max(0, 1-(1-excess)*pr.send/send))
	if after < congested+probeToward*(pr.loss-congested) {
		return false
	}
	// What the lower rate lost is the path's: the loss before is the
	// unlucky high that met the threshold.
	c.lossBase = after
	c.lossAvg = after
	rate := c.rate
	c.rateState = pr.saved
	c.rate = min(max(rate, pr.saved.rate), hi)
	c.episodeCuts, c.pathCuts = 0, 0
	c.healthyFor = 0
	return true
}

// followLossBase keeps the loss average and forgets a base the path no
// longer has.
func (c *Controller) followLossBase(s Sample) {
	c.lossAvg += (s.Loss - c.lossAvg) / lossAvgN
	if c.lossBase > 0 && c.lossAvg < lossBaseGone*c.lossBase {
		c.lossBase = 0
	}
}

// lossPressure is the loss over the path's own, against the threshold.
func (c *Controller) lossPressure(loss float64) float64 {
	return max(0, loss-c.lossBase) / (c.cfg.LossHigh + c.lossBase/4)
}

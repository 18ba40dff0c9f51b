// Package pace keeps a sender from overflowing a link it has just seen
// fill: a guard that reads the bottleneck's queue and rate from what a
// transport reports and gives a cap on the target and a pacing rate, and a
// pacer that spaces packets at it. For the publishers without
// back-pressure of their own (RTMP's TCP paces itself): WHIP, from its
// TWCC feedback. SRT, from its ACKs (RTT over its minimum, libsrt's
// receiving rate), was tried and not kept: NOTES.md.
package pace

import "time"

// Report is what the transport last said about the path.
type Report struct {
	// QueueDelay is the time the newest packet waited in queues on the
	// path: its one-way delay (or round trip) over the minimum (see
	// Baseline).
	QueueDelay time.Duration
	// LinkRate is the bit/s at which the packets that waited arrived (0:
	// unknown). Packets that wait in a queue leave it back to back, so
	// their arrivals are spaced by the bottleneck's own rate.
	LinkRate int
	// Lost counts the packets reported lost since the last report.
	Lost int
}

// Guard caps congestion control's target as soon as the feedback shows
// the link full, and paces the sender to the link while it is. pion's GCC
// finds the same congestion, from the same feedback, but its trendline
// needs a dozen packet groups of rising delay and its cut follows an
// average receive rate: at the cut tests' link its target bound the
// stream half a second to a second after the queue was full, the link
// dropping 40-60 % of the packets meanwhile, and the picture lost until a
// keyframe got through whole. A queue that waits over linkQueueHigh while
// the packets leaving it arrive slower than we send is unambiguous; the
// cap goes at once to under what they arrive at.
//
// The cap is an upper bound on GCC's target, not a controller of its own:
// after the queue has drained it rises by linkRaise every linkRaiseEvery,
// and goes once it is over GCC's target, which by then has seen the
// congestion too.
//
// The guard also holds back a cut of GCC's that nothing in the feedback
// bears out: no wait at the bottleneck over linkQueueLow and no packet
// lost for linkEvidenceFor. On an idle loopback, with the encoder and the
// endpoint sharing two cores, GCC's trendline read the scheduling's
// jitter as a queue in about one run of four and cut 1.5 Mbit/s to 730
// kbit/s, and the stream stepped down its ladder on a link that was
// empty. A real queue shows as a wait within a feedback interval or two
// of GCC's first sign of it, and the cut follows then.
type Guard struct {
	cap       int // bit/s, 0: none
	link      int // the link's rate measured in this congestion, bit/s
	congested bool
	cutAt     time.Time
	clearAt   time.Time // since when the queue has been low (zero: it is not)
	raisedAt  time.Time
	// evidenceAt is the last feedback that showed a wait or a loss;
	// held the target last taken from GCC.
	evidenceAt time.Time
	held       int
}

// linkEvidenceFor is how long a wait or a loss counts as evidence for a
// cut of GCC's.
const linkEvidenceFor = time.Second

const (
	// linkQueueHigh is the wait at the bottleneck that, with the packets
	// arriving slower than sent, counts as a full link: well over a
	// healthy path's jitter, a fraction of any bottleneck's buffer.
	linkQueueHigh = 60 * time.Millisecond
	// linkQueueLow: under this wait for linkClearAfter the queue has
	// drained and the congestion is over.
	linkQueueLow   = 20 * time.Millisecond
	linkClearAfter = time.Second
	// linkShort: the packets arrive under this share of the send rate.
	linkShort = 0.9
	// linkBackoff of the link's rate is the cap: the rest drains the
	// queue (GCC's own beta).
	linkBackoff = 0.85
	// linkRecut: a further cut no sooner than this after the last one,
	// and only to under linkRecutBy of the cap: the first cut's effect
	// takes a feedback interval and the encoder's next frame to show.
	linkRecut   = 300 * time.Millisecond
	linkRecutBy = 0.9
	// After the congestion the cap rises by linkRaise each
	// linkRaiseEvery: about GCC's own increase (8 % a second) twice over,
	// as GCC's target is the one that probes.
	linkRaise      = 1.08
	linkRaiseEvery = 500 * time.Millisecond
)

// Update takes one report and the rate we send at (bit/s, audio
// included), and reports whether the cap changed.
func (g *Guard) Update(now time.Time, r Report, sendRate int) bool {
	if r.QueueDelay >= linkQueueLow || r.Lost > 0 {
		g.evidenceAt = now
	}
	full := r.QueueDelay >= linkQueueHigh && r.LinkRate > 0 && float64(r.LinkRate) < float64(sendRate)*linkShort
	switch {
	case full:
		g.clearAt = time.Time{}
		if !g.congested {
			// The first measure cuts at once; later ones are averaged
			// (a quarter each), as a bottleneck passes packets in
			// bursts (a token bucket's, Wi-Fi's aggregates) and one
			// run of them reads 0.5-1.5 times its rate.
			g.link = r.LinkRate
		} else {
			g.link += (r.LinkRate - g.link) / 4
		}
		c := int(float64(g.link) * linkBackoff)
		if !g.congested || (now.Sub(g.cutAt) >= linkRecut && float64(c) < float64(g.cap)*linkRecutBy) {
			g.congested, g.cutAt = true, now
			if g.cap == 0 || c < g.cap {
				g.cap = c
				return true
			}
		}
	case g.congested && r.QueueDelay < linkQueueLow:
		if g.clearAt.IsZero() {
			g.clearAt = now
		} else if now.Sub(g.clearAt) >= linkClearAfter {
			g.congested, g.raisedAt = false, now
		}
	case g.congested:
		g.clearAt = time.Time{}
	case g.cap > 0 && now.Sub(g.raisedAt) >= linkRaiseEvery:
		g.cap = int(float64(g.cap) * linkRaise)
		g.raisedAt = now
		return true
	}
	return false
}

// Limit applies the cap to GCC's target, and drops a cap that GCC's
// target has come under once the congestion is over. A cut of GCC's that
// no feedback bears out leaves the target where it was.
func (g *Guard) Limit(now time.Time, target int) int {
	if target >= g.held || g.held == 0 || now.Sub(g.evidenceAt) < linkEvidenceFor {
		g.held = target
	}
	target = g.held
	if g.cap == 0 {
		return target
	}
	if !g.congested && g.cap >= target {
		g.cap = 0
		return target
	}
	return min(target, g.cap)
}

// Pacing is the rate to pace the sender at while the link is full (bit/s),
// 0 when it is not: under what the link was measured to carry, so that
// what the encoder makes over it before it comes down (and the next
// keyframe) waits in our queue, where media.Queue drops whole GOPs,
// instead of overflowing the bottleneck's, where every frame loses
// packets; and the bottleneck's queue drains, leaving room for the
// repairs, which are not paced. Paced at the link's rate, the queue stayed
// full for seconds and lost a packet or two every 100 ms.
func (g *Guard) Pacing() int {
	if !g.congested {
		return 0
	}
	return int(float64(g.link) * linkPace)
}

// linkPace of the link's rate is the pace while it is full.
const linkPace = 0.9

package srt

import (
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/glassagent/glassagent/publish"
)

// dropWatch asks for a keyframe when the SRT sender has given packets up
// as too late to deliver: dropped from its buffer (TLPKTDROP, 125 % of the
// latency plus a second after they were sent, after an outage or a long
// stall), or, sooner, NAKed when no copy could arrive before the
// receiver's play-out time (our gosrt fork's PktGivenUp, about a latency
// after the send). The second is what a bandwidth cut needs: the first
// keyframe of a smaller rung goes into the full queue, and when part of
// it is lost the picture stays frozen until a keyframe after it gets
// through; waiting for the drop threshold made that 1.1 s or more.
// The frames after them reference pictures that never arrive, and an SRT
// receiver, unlike a WebRTC one, cannot ask for a keyframe: without one
// the picture stays broken until the next GOP. Seen in TestFaultsSRT:
// after a 3 s outage the IDR was among the packets dropped and the P
// frames that followed arrived referencing it.
type dropWatch struct {
	stats func(*gosrt.Statistics)
	enc   publish.EncoderControl
	// every: how often the counters are read; gap: the least time
	// between two keyframes asked for while drops go on (every frame
	// is being dropped then: keyframes would only cost bits).
	every, gap time.Duration

	at, forcedAt time.Time
	grewAt       time.Time // when the drops last grew
	drops        uint64
	pending      bool   // drops seen since the last keyframe asked for
	Forced       int    // keyframes asked for
	Abandoned    uint64 // packets abandoned before keyframes
	abandon      func() uint64
	// The RTT last read and the least seen: a queue stands on the path
	// when the one is abandonQueue over the other.
	rtt, minRTT time.Duration
	// rx is the rate the receiver last reported taking in, bit/s.
	rx int
}

const (
	// abandonWithin: a keyframe this soon after the sender last gave
	// packets up abandons the repairs of everything before it.
	abandonWithin = time.Second
	// abandonQueue: the RTT over its least that says the link is full.
	abandonQueue = 50 * time.Millisecond
)

func newDropWatch(conn gosrt.Conn, enc publish.EncoderControl) *dropWatch {
	return &dropWatch{stats: conn.Stats, abandon: conn.Abandon, enc: enc, every: 100 * time.Millisecond, gap: 500 * time.Millisecond}
}

// check reads the sender's drop counter (at most every w.every) and
// forces a keyframe when it grew, at most every w.gap while it keeps
// growing, and once more when it stops, so the first frame that gets
// through after the drops is a keyframe or close to one.
func (w *dropWatch) check(now time.Time) {
	if w.enc == nil || now.Sub(w.at) < w.every {
		return
	}
	w.at = now
	var st gosrt.Statistics
	w.stats(&st)
	d := st.Accumulated.PktSendDrop + st.Accumulated.PktGivenUp
	if st.Instantaneous.MsRTT > 0 {
		w.rtt = time.Duration(st.Instantaneous.MsRTT * float64(time.Millisecond))
		if w.minRTT == 0 || w.rtt < w.minRTT {
			w.minRTT = w.rtt
		}
	}
	// gosrt's Mbps are 2^20 bit/s.
	w.rx = int(st.Instantaneous.MbpsPeerRecvRate * 1024 * 1024)
	grew := d > w.drops
	w.drops = d
	if grew {
		w.grewAt = now
	}
	switch {
	case grew && now.Sub(w.forcedAt) >= w.gap:
		w.force(now)
	case grew:
		w.pending = true
	case w.pending:
		w.force(now)
	}
}

func (w *dropWatch) force(now time.Time) {
	w.enc.ForceKeyframe()
	w.forcedAt, w.pending = now, false
	w.Forced++
}

// keyframe is called before a keyframe goes to the sender; resync: it is
// a step down the ladder's (media.AccessUnit.Resync). On a link that
// cannot carry the stream, the repairs still pending are of pictures the
// keyframe makes obsolete, and they would delay the keyframe itself: lost
// in the full bottleneck's queue behind them (behind a cut, four packets
// in ten sent were repairs), it is asked for again and again while the
// picture stays frozen. Abandoning them lets the keyframe have the link.
// What says the link cannot carry the stream: a queue standing on it (the
// RTT abandonQueue over its least), and the controller stepping down or
// the sender giving packets up within the last second. A link that only
// loses packets (random loss) stands no queue, and its repairs are worth
// their room; nor does one coming back from an outage, whose repairs can
// still save the outage's last pictures (its receiver skips them only a
// latency after the link returned).
//
// It reports whether it abandoned: the keyframe then goes into a full
// queue, and should be paced (see pacer).
func (w *dropWatch) keyframe(now time.Time, resync bool) bool {
	if w.abandon == nil || w.minRTT == 0 || w.rtt < w.minRTT+abandonQueue {
		return false
	}
	if !resync && (w.grewAt.IsZero() || now.Sub(w.grewAt) > abandonWithin) {
		return false
	}
	w.Abandoned += w.abandon()
	return true
}

// paceOfReceiver: a keyframe into a full link goes out at this fraction
// of the rate the receiver reports taking in.
const paceOfReceiver = 0.8

// pacer spaces the messages of one keyframe sent into a full bottleneck.
// gosrt sends what it is given at once (a live sender paces by the
// timestamps, which are the writes'), so a keyframe leaves as a burst of
// a few kilobytes, and a bottleneck whose queue the stream overfilled
// until the cut takes none of it: behind a cut to half, the first
// keyframe of the smaller rung was lost whole, its repairs arrived after
// the receiver's latency, and the picture stayed broken until the next
// GOP (a second). Written under the link's rate, it queues behind what
// is there and the queue shrinks while it does. Each message's deadline
// at the receiver counts from its own write, so spacing them makes none
// late; it delays what follows by the spread, which is bounded.
type pacer struct {
	rate  int // bit/s; 0: not pacing
	next  time.Time
	now   func() time.Time
	sleep func(time.Duration)
}

func newPacer() *pacer { return &pacer{now: time.Now, sleep: time.Sleep} }

// start paces the next size bytes at paceOfReceiver of rx bit/s, spread
// over at most maxSpread; rx 0 (no report yet) paces nothing.
func (p *pacer) start(size, rx int, maxSpread time.Duration) {
	if rx <= 0 || size <= 0 {
		return
	}
	p.rate = max(int(paceOfReceiver*float64(rx)), int(float64(size*8)/maxSpread.Seconds()))
	p.next = p.now()
}

// wait holds a message of n bytes until its turn.
func (p *pacer) wait(n int) {
	if p.rate == 0 {
		return
	}
	t := p.now()
	if d := p.next.Sub(t); d > 0 {
		p.sleep(d)
		t = p.next
	}
	p.next = t.Add(time.Duration(float64(n*8) / float64(p.rate) * float64(time.Second)))
}

func (p *pacer) stop() { p.rate = 0 }

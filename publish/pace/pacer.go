package pace

import (
	"context"
	"time"
)

// Pacer spaces packets at a rate. Without one, a frame's packets leave
// back to back: at a healthy link's speed that is what WebRTC senders
// avoid anyway (libwebrtc paces at 2.5 times its target), and at a link
// cut below what the encoder still makes, a keyframe of tens of kilobytes
// overflows a bottleneck's queue of a few (the cut tests' 200 ms at 210
// kbit/s is 5 KB), losing packets of every frame after it. A pacer in our
// send loop holds the excess in media.Queue, which sees its age (a
// congestion signal to the bitrate controller) and drops whole GOPs when
// it grows old, rather than in an unbounded queue of its own (pion's
// LeakyBucketPacer; see publish/whip's newAPI).
type Pacer struct {
	next  time.Time   // when the next packet may leave
	timer *time.Timer // reused: a wait per packet should not allocate
}

// pacerBurst is the credit an idle pacer keeps: a few packets at the
// rates we pace at, so that pacing only spreads what would be a burst.
const pacerBurst = 5 * time.Millisecond

func (p *Pacer) slot(now time.Time, size, rate int) time.Time {
	if p.next.Before(now.Add(-pacerBurst)) {
		p.next = now.Add(-pacerBurst)
	}
	at := p.next
	p.next = p.next.Add(time.Duration(int64(size) * 8 * int64(time.Second) / int64(rate)))
	return at
}

// Wait holds a packet of size bytes until its slot at rate bit/s (0: not
// paced); it returns early with ctx's error.
func (p *Pacer) Wait(ctx context.Context, size, rate int) error {
	if rate <= 0 {
		return nil
	}
	now := time.Now()
	d := p.slot(now, size, rate).Sub(now)
	if d <= 0 {
		return nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d) // stopped or fired: Go 1.23 timers need no drain
	}
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	}
}

// Charge counts a packet sent without waiting against the budget.
func (p *Pacer) Charge(now time.Time, size, rate int) {
	if rate > 0 {
		p.slot(now, size, rate)
	}
}

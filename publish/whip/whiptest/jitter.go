package whiptest

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// jitterBuffer reassembles H.264 frames from RTP packets the way a
// browser's receiver (libwebrtc's packet buffer and frame reference
// finder) does, which pion's sample builder does not: frames leave in
// sequence order, a hole is waited for (NACKs repair it), but a complete
// keyframe behind a hole does not wait: it needs nothing before it, so it
// is handed on at once and the frames before it are given up. The sample
// builder held such a keyframe until the hole timed out, which made every
// freeze in the tests at least the hole's timeout long, longer than what a
// viewer in a browser sees. A hole that is not repaired within wait is
// given up too, and the frames after it go on (broken, as a decoder would
// conceal them). Our own code: neither pion's sample builder nor its
// interceptor's jitter buffer knows about keyframes.
type jitterBuffer struct {
	wait    time.Duration
	pkts    map[int64]*jbPacket // by unwrapped sequence number
	next    int64               // first sequence number not handed on
	max     int64               // highest sequence number seen
	started bool
	dropped int // packets given up since the last frame handed on
}

type jbPacket struct {
	p       *rtp.Packet
	arrived time.Time
}

// jbFrame is one frame handed on: Annex-B, its RTP timestamp, and how many
// packets were given up just before it (padding not counted).
type jbFrame struct {
	ts      uint32
	annexB  []byte
	dropped int
}

// maxPending bounds what the buffer holds: a hole this far behind the
// newest packet is given up whatever its age.
const maxPending = 2048

func newJitterBuffer(wait time.Duration) *jitterBuffer {
	return &jitterBuffer{wait: wait, pkts: map[int64]*jbPacket{}}
}

// push adds a packet that arrived at now and returns the frames it
// completes, oldest first.
func (b *jitterBuffer) push(p *rtp.Packet, now time.Time) []jbFrame {
	seq := int64(p.SequenceNumber)
	if b.started {
		// Unwrap around the newest seen: a packet is within half the
		// sequence space of it.
		seq = b.max + int64(int16(p.SequenceNumber-uint16(b.max)))
	} else {
		b.started, b.next, b.max = true, seq, seq
	}
	if seq < b.next {
		return nil // a repeat of something handed on or given up
	}
	if _, dup := b.pkts[seq]; dup {
		return nil
	}
	b.pkts[seq] = &jbPacket{p: p, arrived: now}
	if seq > b.max {
		b.max = seq
	}
	var out []jbFrame
	for {
		if f, ok := b.inOrder(); ok {
			out = append(out, f)
			continue
		}
		if f, ok := b.keyframeAhead(); ok {
			out = append(out, f)
			continue
		}
		if b.giveUpHole(now) {
			continue
		}
		return out
	}
}

// inOrder hands on the frame that starts at next when all of it is here.
func (b *jitterBuffer) inOrder() (jbFrame, bool) {
	// Padding (congestion control's probes) carries no media: step over.
	for {
		e, ok := b.pkts[b.next]
		if !ok || len(e.p.Payload) > 0 {
			break
		}
		delete(b.pkts, b.next)
		b.next++
	}
	last, ok := b.complete(b.next)
	if !ok {
		return jbFrame{}, false
	}
	return b.take(b.next, last, b.depacketize(b.next, last)), true
}

// keyframeAhead hands on the first complete keyframe (SPS, PPS and IDR,
// its first packet starting a NAL unit) past a hole, giving up what is
// before it.
func (b *jitterBuffer) keyframeAhead() (jbFrame, bool) {
	for s := b.next + 1; s <= b.max; s++ {
		e, ok := b.pkts[s]
		if !ok || !startsWithSPS(e.p.Payload) {
			continue
		}
		last, ok := b.complete(s)
		if !ok {
			continue
		}
		annexB := b.depacketize(s, last)
		if !containsIDR(annexB) {
			continue
		}
		b.drop(b.next, s)
		return b.take(s, last, annexB), true
	}
	return jbFrame{}, false
}

// giveUpHole gives up the first missing packet at or after next when the
// first packet after it has waited longer than wait (or the buffer is too
// far ahead), moving next to the first frame boundary after the hole.
func (b *jitterBuffer) giveUpHole(now time.Time) bool {
	hole := b.next
	for hole <= b.max {
		if _, ok := b.pkts[hole]; !ok {
			break
		}
		hole++
	}
	if hole > b.max {
		return false // nothing missing: the frame's last packet is to come
	}
	first := hole + 1 // the newest packet is here, so one after the hole is
	for ; first <= b.max; first++ {
		if _, ok := b.pkts[first]; ok {
			break
		}
	}
	if now.Sub(b.pkts[first].arrived) < b.wait && b.max-b.next < maxPending {
		return false
	}
	// A frame boundary: a packet whose predecessor is here with another
	// timestamp. Without one, everything here goes.
	to := b.max + 1
	for s := first + 1; s <= b.max; s++ {
		cur, ok1 := b.pkts[s]
		prev, ok2 := b.pkts[s-1]
		if ok1 && ok2 && prev.p.Timestamp != cur.p.Timestamp {
			to = s
			break
		}
	}
	b.drop(b.next, to)
	return true
}

// complete reports the last packet of the frame starting at first when
// every packet from first to the marker is here, with one timestamp.
func (b *jitterBuffer) complete(first int64) (int64, bool) {
	e, ok := b.pkts[first]
	if !ok {
		return 0, false
	}
	ts := e.p.Timestamp
	for s := first; s <= b.max; s++ {
		e, ok := b.pkts[s]
		if !ok || e.p.Timestamp != ts {
			return 0, false
		}
		if e.p.Marker {
			return s, true
		}
	}
	return 0, false
}

// depacketize returns packets first..last as Annex-B.
func (b *jitterBuffer) depacketize(first, last int64) []byte {
	var d codecs.H264Packet // a fresh one: no fragment left from a broken frame
	var annexB []byte
	for s := first; s <= last; s++ {
		if nal, err := d.Unmarshal(b.pkts[s].p.Payload); err == nil {
			annexB = append(annexB, nal...)
		}
	}
	return annexB
}

// take hands on packets first..last as the frame annexB (depacketized
// from them) and removes them.
func (b *jitterBuffer) take(first, last int64, annexB []byte) jbFrame {
	f := jbFrame{ts: b.pkts[first].p.Timestamp, annexB: annexB, dropped: b.dropped}
	for s := first; s <= last; s++ {
		delete(b.pkts, s)
	}
	b.next, b.dropped = last+1, 0
	return f
}

// drop gives up packets from..to-1, present or not, counting those that
// were media (missing ones count: they were).
func (b *jitterBuffer) drop(from, to int64) {
	for s := from; s < to; s++ {
		if e, ok := b.pkts[s]; ok {
			delete(b.pkts, s)
			if len(e.p.Payload) == 0 {
				continue
			}
		}
		b.dropped++
	}
	b.next = to
}

// startsWithSPS: the payload is an SPS, or a STAP-A whose first unit is.
func startsWithSPS(p []byte) bool {
	switch {
	case len(p) > 0 && p[0]&0x1f == 7:
		return true
	case len(p) > 3 && p[0]&0x1f == 24:
		return p[3]&0x1f == 7
	}
	return false
}

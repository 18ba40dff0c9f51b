package whiptest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// jbStream packetizes frames as the publisher's pion track does (SPS and
// PPS in a STAP-A, large units in FU-As) with consecutive sequence
// numbers from a start, so the tests can lose, repeat and reorder them.
type jbStream struct {
	seq  uint16
	pay  codecs.H264Payloader
	time uint32
}

// frame returns the packets of one frame: a keyframe (SPS, PPS, IDR) or a
// delta, its slice n bytes long, each byte tag (to tell frames apart).
func (s *jbStream) frame(key bool, n int, tag byte) []*rtp.Packet {
	var au []byte
	if key {
		au = append(au, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80)
	}
	slice := byte(0x41)
	if key {
		slice = 0x65
	}
	au = append(au, 0, 0, 0, 1, slice)
	au = append(au, bytes.Repeat([]byte{tag}, n)...)
	var out []*rtp.Packet
	payloads := s.pay.Payload(1200, au)
	for i, p := range payloads {
		out = append(out, &rtp.Packet{Header: rtp.Header{SequenceNumber: s.seq, Timestamp: s.time, Marker: i == len(payloads)-1}, Payload: p})
		s.seq++
	}
	s.time += 3000
	return out
}

func (s *jbStream) padding() *rtp.Packet {
	p := &rtp.Packet{Header: rtp.Header{SequenceNumber: s.seq, Timestamp: s.time - 3000}}
	s.seq++
	return p
}

// jbOut is a frame handed on: its tag byte and its dropped count.
type jbOut struct {
	tag     byte
	dropped int
}

func push(b *jitterBuffer, now time.Time, pkts ...*rtp.Packet) []jbOut {
	var out []jbOut
	for _, p := range pkts {
		for _, f := range b.push(p, now) {
			out = append(out, jbOut{f.annexB[len(f.annexB)-1], f.dropped})
		}
	}
	return out
}

func cat(ps ...[]*rtp.Packet) []*rtp.Packet {
	var out []*rtp.Packet
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

func same(t *testing.T, what string, got, want []jbOut) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: handed on %v, want %v", what, got, want)
	}
}

func TestJitterBufferInOrderAndReordered(t *testing.T) {
	for _, start := range []uint16{1000, 65530} { // and across the wrap
		s := &jbStream{seq: start}
		b := newJitterBuffer(time.Second)
		now := time.Now()
		k, d1, d2 := s.frame(true, 3000, 1), s.frame(false, 500, 2), s.frame(false, 2500, 3)
		got := push(b, now, cat(k, d1)...)
		same(t, "in order", got, []jbOut{{1, 0}, {2, 0}})
		// The delta's packets out of order: handed on when all are here.
		got = push(b, now, d2[2], d2[0])
		same(t, "two of three", got, nil)
		got = push(b, now, d2[1])
		same(t, "the third", got, []jbOut{{3, 0}})
		// What was handed on is whole: the depacketized slice.
		var whole []byte
		for _, f := range newJitterBufferFrames(t, cat(k)) {
			whole = f.annexB
		}
		if !bytes.Contains(whole, bytes.Repeat([]byte{1}, 3000)) || !bytes.Contains(whole, []byte{0, 0, 0, 1, 0x67}) {
			t.Fatalf("start %d: keyframe not reassembled whole (%d bytes)", start, len(whole))
		}
	}
}

func newJitterBufferFrames(t *testing.T, pkts []*rtp.Packet) []jbFrame {
	t.Helper()
	b := newJitterBuffer(time.Second)
	var out []jbFrame
	for _, p := range pkts {
		out = append(out, b.push(p, time.Now())...)
	}
	return out
}

// A hole repaired (a NACKed packet arriving late) holds the frames after
// it and then lets them all go, nothing dropped.
func TestJitterBufferHoleRepaired(t *testing.T) {
	s := &jbStream{seq: 40}
	b := newJitterBuffer(time.Second)
	now := time.Now()
	k, d1, d2, d3 := s.frame(true, 100, 1), s.frame(false, 2000, 2), s.frame(false, 100, 3), s.frame(false, 100, 4)
	got := push(b, now, k...)
	got = append(got, push(b, now, d1[0])...)
	got = append(got, push(b, now.Add(100*time.Millisecond), cat(d2, d3)...)...)
	same(t, "before the repair", got, []jbOut{{1, 0}})
	got = push(b, now.Add(300*time.Millisecond), d1[1])
	same(t, "repaired", got, []jbOut{{2, 0}, {3, 0}, {4, 0}})
	// The repeat of a packet already handed on changes nothing.
	same(t, "repeat", push(b, now.Add(400*time.Millisecond), d1[1]), nil)
}

// A complete keyframe behind a hole goes at once, the frames before it
// given up; a late repair of the hole is then ignored.
func TestJitterBufferKeyframeOvertakesHole(t *testing.T) {
	s := &jbStream{seq: 65000}
	b := newJitterBuffer(time.Second)
	now := time.Now()
	k1, d1, d2, k2, d3 := s.frame(true, 100, 1), s.frame(false, 2000, 2), s.frame(false, 100, 3), s.frame(true, 5000, 4), s.frame(false, 100, 5)
	got := push(b, now, k1...)
	got = append(got, push(b, now, d1[1])...) // d1[0] lost
	got = append(got, push(b, now, d2...)...)
	same(t, "held by the hole", got, []jbOut{{1, 0}})
	// The keyframe's packets, one lost and repaired among them.
	got = push(b, now, k2[0])
	got = append(got, push(b, now, k2[2:]...)...)
	same(t, "keyframe not yet whole", got, nil)
	got = push(b, now.Add(50*time.Millisecond), k2[1])
	// d1's two packets and d2's one: three given up.
	same(t, "keyframe whole", got, []jbOut{{4, 3}})
	got = push(b, now.Add(60*time.Millisecond), d1[0])
	same(t, "late repair", got, nil)
	same(t, "after", push(b, now.Add(70*time.Millisecond), d3...), []jbOut{{5, 0}})
}

// A hole not repaired within the wait is given up: the frames after it
// go on, the first telling how many packets were lost.
func TestJitterBufferHoleTimesOut(t *testing.T) {
	s := &jbStream{seq: 7}
	b := newJitterBuffer(time.Second)
	now := time.Now()
	k, d1, d2, d3 := s.frame(true, 100, 1), s.frame(false, 2000, 2), s.frame(false, 100, 3), s.frame(false, 100, 4)
	got := push(b, now, k...)
	got = append(got, push(b, now, d1[1])...)
	got = append(got, push(b, now.Add(500*time.Millisecond), d2...)...)
	same(t, "waiting", got, []jbOut{{1, 0}})
	got = push(b, now.Add(1100*time.Millisecond), d3...)
	same(t, "given up", got, []jbOut{{3, 2}, {4, 0}})
}

// Congestion control's padding (empty payloads with their own sequence
// numbers) is neither a hole nor a loss.
func TestJitterBufferPadding(t *testing.T) {
	s := &jbStream{seq: 65534}
	b := newJitterBuffer(time.Second)
	now := time.Now()
	k := s.frame(true, 100, 1)
	pads := []*rtp.Packet{s.padding(), s.padding(), s.padding()}
	d := s.frame(false, 100, 2)
	got := push(b, now, cat(k, pads, d)...)
	same(t, "padding between", got, []jbOut{{1, 0}, {2, 0}})
}

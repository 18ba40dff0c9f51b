package whip

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// rrWithRTT is a receiver report echoing a sender report such that the
// round trip, seen at now, is rtt.
func rrWithRTT(now time.Time, rtt time.Duration) *rtcp.ReceiverReport {
	const delay = 50 * time.Millisecond // DLSR: the receiver held the report
	sent := now.Add(-rtt - delay)
	return &rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{
		SSRC: 1, LastSenderReport: ntpShort(sent), Delay: uint32(delay * 65536 / time.Second),
	}}}
}

func nackFor(seqs ...uint16) *rtcp.TransportLayerNack {
	return &rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}
}

func nacked(n *rtcp.TransportLayerNack) []uint16 {
	var out []uint16
	for _, p := range n.Nacks {
		out = append(out, p.PacketList()...)
	}
	return out
}

// A packet NACKed again within the round trip (its repeat still on the
// way) is taken out of the NACK; after it, it goes through again.
func TestNackHoldoff(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := &nackHoldoff{now: func() time.Time { return now }, passed: map[uint32]map[uint16]nackPassed{}}
	h.BindLocalStream(&interceptor.StreamInfo{SSRC: 7}, nil)
	h.BindLocalStream(&interceptor.StreamInfo{SSRC: 8}, nil)
	h.filter([]rtcp.Packet{rrWithRTT(now, 200*time.Millisecond)})
	if h.srtt < 195*time.Millisecond || h.srtt > 205*time.Millisecond {
		t.Fatalf("RTT from the report: %v, want 200 ms", h.srtt)
	}
	step := func(d time.Duration, n *rtcp.TransportLayerNack, want []uint16) {
		t.Helper()
		now = now.Add(d)
		h.filter([]rtcp.Packet{n})
		if got := nacked(n); !slices.Equal(got, want) {
			t.Fatalf("NACK at +%v: passed %v, want %v", d, got, want)
		}
	}
	step(0, nackFor(10, 11, 12, 40), []uint16{10, 11, 12, 40})
	// 100 ms later (a receiver's timer): the repeats are in flight.
	step(100*time.Millisecond, nackFor(10, 11, 12, 40, 41), []uint16{41})
	step(100*time.Millisecond, nackFor(10, 11, 12, 40, 41), nil)
	// 300 ms after the first: more than a round trip (and a quarter), so
	// the repeats were lost too; 41 is only 200 ms old.
	step(100*time.Millisecond, nackFor(10, 11, 12, 40, 41), []uint16{10, 11, 12, 40})
	// Another SSRC's packets are its own.
	n := nackFor(10)
	n.MediaSSRC = 8
	step(0, n, []uint16{10})
	// A packet is repeated nackMaxResends times at most, however often
	// it is asked for (a receiver that never takes the repair), until it
	// is forgotten. 10 went twice so far, 41 once.
	for i := 3; i <= nackMaxResends; i++ {
		step(300*time.Millisecond, nackFor(10, 41), []uint16{10, 41})
	}
	step(300*time.Millisecond, nackFor(10, 41), []uint16{41})
	step(300*time.Millisecond, nackFor(10, 41), nil)
	step(nackForget, nackFor(10, 41), []uint16{10, 41})
	// A NACK for an SSRC that is not ours is left alone and not kept.
	n = nackFor(1, 2, 3)
	n.MediaSSRC = 99
	step(0, n, []uint16{1, 2, 3})
	step(0, n, []uint16{1, 2, 3})
	if _, ok := h.passed[99]; ok {
		t.Fatal("a stranger's SSRC was kept")
	}
	h.UnbindLocalStream(&interceptor.StreamInfo{SSRC: 8})
	if _, ok := h.passed[8]; ok {
		t.Fatal("an unbound stream's repeats were kept")
	}
}

// Any RTCP a peer sends goes through the filter without a panic, and
// what it keeps stays within our streams' sequence numbers.
func FuzzNackHoldoff(f *testing.F) {
	nack, _ := nackFor(1, 2, 3, 500).Marshal()
	rr, _ := rrWithRTT(time.Unix(1_800_000_000, 0), 100*time.Millisecond).Marshal()
	f.Add(nack)
	f.Add(rr)
	f.Add(append(rr, nack...))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		h := &nackHoldoff{now: time.Now, passed: map[uint32]map[uint16]nackPassed{}}
		h.BindLocalStream(&interceptor.StreamInfo{SSRC: 7}, nil)
		h.filter(pkts)
		h.filter(pkts)
		if len(h.passed) != 1 || len(h.passed[7]) > 1<<16 || h.srtt < 0 {
			t.Fatalf("state after a peer's RTCP: %d SSRCs, srtt %v", len(h.passed), h.srtt)
		}
	})
}

// The RTT rises at once (a queue building must not let NACKs through
// early) and falls by an eighth of the difference a report; without one,
// the hold-off is the floor.
func TestNackHoldoffRTT(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := &nackHoldoff{now: func() time.Time { return now }, passed: map[uint32]map[uint16]nackPassed{}}
	h.BindLocalStream(&interceptor.StreamInfo{SSRC: 7}, nil)
	first := nackFor(5)
	h.filter([]rtcp.Packet{first})
	now = now.Add(nackHoldoffMin + time.Millisecond)
	again := nackFor(5)
	h.filter([]rtcp.Packet{again})
	if !slices.Equal(nacked(again), []uint16{5}) {
		t.Fatalf("no RTT known: a NACK %v after the last was held", nackHoldoffMin)
	}
	h.filter([]rtcp.Packet{rrWithRTT(now, 20*time.Millisecond)})
	h.filter([]rtcp.Packet{rrWithRTT(now, 400*time.Millisecond)})
	if h.srtt < 395*time.Millisecond {
		t.Fatalf("after a 400 ms report the RTT is %v: it should rise at once", h.srtt)
	}
	h.filter([]rtcp.Packet{rrWithRTT(now, 80*time.Millisecond)})
	if h.srtt < 350*time.Millisecond || h.srtt > 365*time.Millisecond {
		t.Fatalf("after an 80 ms report the RTT is %v, want 400 - 320/8 = 360 ms", h.srtt)
	}
	// A report echoing no sender report says nothing.
	h.filter([]rtcp.Packet{&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{SSRC: 1}}}})
	if h.srtt < 350*time.Millisecond {
		t.Fatalf("a report without LSR moved the RTT to %v", h.srtt)
	}
}

// rtpRecorder is an RTP writer that keeps the sequence numbers written.
type rtpRecorder struct{ seqs []uint16 }

func (r *rtpRecorder) Write(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
	r.seqs = append(r.seqs, h.SequenceNumber)
	return 0, nil
}

// Behind a full bottleneck, NACKs for video packets sent before the
// latest keyframe are dropped (the keyframe makes them obsolete); on a
// path without a queue, or for packets from the keyframe on, or for
// another stream, they go through. Repairs going out do not move the mark.
func TestNackHoldoffObsoleteRepairs(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	queue := time.Duration(0)
	h := &nackHoldoff{now: func() time.Time { return now }, queue: func() time.Duration { return queue },
		passed: map[uint32]map[uint16]nackPassed{}}
	rec := &rtpRecorder{}
	w := h.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, MimeType: "video/H264"}, rec)
	h.BindLocalStream(&interceptor.StreamInfo{SSRC: 8, MimeType: "audio/opus"}, nil)
	send := func(seq uint16, ts uint32, payload ...byte) {
		t.Helper()
		if _, err := w.Write(&rtp.Header{SequenceNumber: seq, Timestamp: ts}, payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	pFrag := []byte{28, 0x80 | 1, 0xaa}                       // FU-A start of a non-IDR slice
	pMid := []byte{28, 1, 0xaa}                               // and its middle
	stapSPS := []byte{24, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce} // STAP-A: SPS, PPS
	idrStart := []byte{28, 0x80 | 5, 0xbb}
	idrMid := []byte{28, 5, 0xbb}
	for seq := uint16(65530); seq != 2; seq++ { // across the wrap
		send(seq, 1000, pMid...)
	}
	send(2, 2000, pFrag...)
	send(3, 2000, pMid...)
	send(4, 3000, stapSPS...) // the keyframe starts here
	send(5, 3000, idrStart...)
	send(6, 3000, idrMid...)
	send(65532, 1000, pMid...) // a repair of an old packet
	send(7, 4000, pFrag...)
	if len(rec.seqs) != 15 {
		t.Fatalf("the writer passed on %d packets, want 15", len(rec.seqs))
	}
	check := func(n *rtcp.TransportLayerNack, want []uint16) {
		t.Helper()
		now = now.Add(time.Second) // past any hold-off
		h.filter([]rtcp.Packet{n})
		if got := nacked(n); !slices.Equal(got, want) {
			t.Fatalf("queue %v: passed %v, want %v", queue, got, want)
		}
	}
	check(nackFor(65531, 2, 5), []uint16{65531, 2, 5}) // no queue: all repaired
	queue = 100 * time.Millisecond
	check(nackFor(65533, 3, 4, 6, 7), []uint16{4, 6, 7})
	if h.abandoned != 2 {
		t.Fatalf("abandoned %d repairs, want 2", h.abandoned)
	}
	audio := nackFor(3)
	audio.MediaSSRC = 8
	check(audio, []uint16{3})
	// The next keyframe moves the mark; an IDR starting in a single NAL
	// unit counts as one too.
	send(8, 5000, 5, 0xcc)
	check(nackFor(7, 8), []uint16{8})
}

// h264Keyframe reads RFC 6184 payloads: single NAL units, STAP-A and
// FU-A, and anything short or malformed is not a keyframe.
func TestH264Keyframe(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want bool
	}{
		{nil, false},
		{[]byte{5}, false},
		{[]byte{5, 0x88}, true},
		{[]byte{0x65, 0x88}, true}, // nal_ref_idc set
		{[]byte{1, 0x88}, false},
		{[]byte{7, 0x42}, true},
		{[]byte{24, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88}, true},
		{[]byte{24, 0, 2, 0x68, 0xce, 0, 2, 0x41, 0x88}, false},
		{[]byte{24, 0, 9, 0x65}, false}, // a size past the end
		{[]byte{24, 0, 0, 0x65}, false},
		{[]byte{28, 0x85, 0}, true},
		{[]byte{28, 0x05, 0}, false}, // not the start fragment
		{[]byte{28, 0x81, 0}, false},
	} {
		if got := h264Keyframe(c.p); got != c.want {
			t.Errorf("h264Keyframe(% x) = %v, want %v", c.p, got, c.want)
		}
	}
}

package whip

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// twccFeedback builds a transport-wide feedback as a receiver sends it
// (marshalled and parsed back by pion, so it is one pion accepts): from
// base on, arrivals[i] < 0 is a packet not received, else its arrival on
// the receiver's clock, which the reference time (64 ms units) and the
// 250 us deltas must express.
func twccFeedback(t testing.TB, count uint8, base uint16, arrivals []time.Duration) *rtcp.TransportLayerCC {
	t.Helper()
	fb := &rtcp.TransportLayerCC{SenderSSRC: 1, MediaSSRC: 2, BaseSequenceNumber: base,
		PacketStatusCount: uint16(len(arrivals)), FbPktCount: count}
	var ref time.Duration
	for _, a := range arrivals {
		if a >= 0 {
			ref = a / (64 * time.Millisecond) * (64 * time.Millisecond)
			break
		}
	}
	fb.ReferenceTime = uint32(ref / (64 * time.Millisecond))
	prev := ref
	for _, a := range arrivals {
		if a < 0 {
			fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1})
			continue
		}
		d := (a - prev) / (250 * time.Microsecond) * (250 * time.Microsecond)
		prev += d
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedLargeDelta, RunLength: 1})
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: d.Microseconds()})
	}
	// The header as pion's feedback sender fills it: 20 bytes, two per
	// chunk, two per (large) delta, padded to a word.
	n := 20 + 2*len(fb.PacketChunks) + 2*len(fb.RecvDeltas)
	padded := (n + 3) / 4 * 4
	fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback,
		Padding: padded != n, Length: uint16(padded/4 - 1)}
	b, err := fb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return pkts[0].(*rtcp.TransportLayerCC)
}

// A bottleneck simulated packet by packet: the watch reads the wait it
// adds and the rate it passes, from the feedback alone, a feedback after
// the queue starts; before, it sees no queue and measures no link.
func TestDeliveryWatchSeesQueue(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	now := t0
	var reports []deliveryReport
	d := &deliveryWatch{now: func() time.Time { return now }, report: func(r deliveryReport) { reports = append(reports, r) }}

	const (
		size     = 1200
		linkRate = 960_000                             // bit/s: 10 ms a packet
		offset   = 5*time.Second + 37*time.Millisecond // the receiver's clock ahead, and the path's delay
	)
	perPacket := time.Duration(size * 8 * int64(time.Second) / linkRate)
	// 100 packets every 20 ms (half the link), then 100 every 5 ms
	// (twice it); the tenth lost at the bottleneck.
	type pkt struct {
		sent, arrived time.Duration
	}
	var pkts []pkt
	var free time.Duration // when the link is next free, sender's clock
	for i := 0; i < 200; i++ {
		gap := 20 * time.Millisecond
		if i >= 100 {
			gap = 5 * time.Millisecond
		}
		sent := time.Duration(i) * gap
		if i >= 100 {
			sent = 100*20*time.Millisecond + time.Duration(i-100)*gap
		}
		if i == 110 {
			pkts = append(pkts, pkt{sent, -1}) // dropped: takes no link time
			continue
		}
		start := max(sent, free)
		free = start + perPacket
		pkts = append(pkts, pkt{sent, free + offset})
	}
	// Send them all (the sender's clock), then feed back every 100 ms of
	// the receiver's clock what arrived by then.
	seq := uint16(65500) // across the wrap
	for i, p := range pkts {
		now = t0.Add(p.sent)
		d.sentPacket(seq+uint16(i), size)
	}
	var count uint8
	from := 0
	for fbAt := offset + 100*time.Millisecond; from < len(pkts); fbAt += 100 * time.Millisecond {
		to := from
		for to < len(pkts) && (pkts[to].arrived < 0 || pkts[to].arrived <= fbAt) {
			to++
		}
		if to == from {
			continue
		}
		var arr []time.Duration
		for _, p := range pkts[from:to] {
			arr = append(arr, p.arrived)
		}
		fb := twccFeedback(t, count, seq+uint16(from), arr)
		n := len(reports)
		d.feedback(fb)
		d.feedback(fb) // the same feedback, read by the other sender's reader
		if len(reports) != n+1 {
			t.Fatalf("feedback %d gave %d reports, want one (a repeat is ignored)", count, len(reports)-n)
		}
		r := reports[n]
		last := pkts[to-1]
		if last.arrived < 0 {
			last = pkts[to-2]
		}
		wantWait := last.arrived - offset - last.sent - perPacket
		t.Logf("feedback %2d (packets %3d-%3d): wait %v (want %v), link %d bit/s, lost %d/%d", count, from, to-1, r.QueueDelay, wantWait, r.LinkRate, r.Lost, r.Reported)
		if math.Abs(float64(r.QueueDelay-wantWait)) > float64(time.Millisecond) {
			t.Errorf("feedback %d: wait %v, want %v", count, r.QueueDelay, wantWait)
		}
		switch {
		case wantWait < queuedFrom && r.LinkRate != 0:
			t.Errorf("feedback %d: link measured at %d bit/s with no queue", count, r.LinkRate)
		case wantWait > 60*time.Millisecond && math.Abs(float64(r.LinkRate-linkRate)) > 0.03*linkRate:
			t.Errorf("feedback %d: link %d bit/s, want %d", count, r.LinkRate, linkRate)
		}
		wantLost := 0
		if from <= 110 && 110 < to {
			wantLost = 1
		}
		if r.Lost != wantLost || r.Reported != to-from {
			t.Errorf("feedback %d: lost %d of %d, want %d of %d", count, r.Lost, r.Reported, wantLost, to-from)
		}
		count++
		from = to
	}
	if len(reports) < 20 {
		t.Fatalf("%d reports", len(reports))
	}
}

// Feedback naming packets we never sent, or packets whose send record was
// overwritten, is counted but measures nothing.
func TestDeliveryWatchUnknownPackets(t *testing.T) {
	var got []deliveryReport
	d := &deliveryWatch{now: time.Now, report: func(r deliveryReport) { got = append(got, r) }}
	d.feedback(twccFeedback(t, 0, 100, []time.Duration{time.Second, time.Second + time.Millisecond}))
	if len(got) != 0 {
		t.Fatalf("reports for packets never sent: %+v", got)
	}
}

func FuzzDeliveryFeedback(f *testing.F) {
	for _, arr := range [][]time.Duration{
		{time.Second, -1, time.Second + 5*time.Millisecond},
		{-1, time.Second, -1, time.Second + 200*time.Millisecond},
		{70 * time.Second, 70*time.Second + 8*time.Second},
	} {
		b, _ := twccFeedback(f, 1, 65530, arr).Marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		d := &deliveryWatch{now: time.Now, report: func(r deliveryReport) {
			if r.QueueDelay < 0 || r.LinkRate < 0 || r.Lost > r.Reported {
				t.Fatalf("report %+v", r)
			}
		}}
		for i := 0; i < 100; i++ {
			d.sentPacket(uint16(65500+i), 1200)
		}
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				d.feedback(fb)
				fb.FbPktCount++
				d.feedback(fb)
			}
		}
	})
}

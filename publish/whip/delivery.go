package whip

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/glassagent/glassagent/publish/pace"
)

// deliveryWatch reads the receiver's transport-wide feedback (TWCC,
// draft-holmer-rmcat-transport-wide-cc-extensions-01, about every 100 ms)
// for what pion's GCC knows but does not report until it is late: how long
// the packets now wait at the bottleneck (their one-way delay over its
// minimum) and how fast they arrive. At the cut tests' link the queue is
// full 0.2 s after the cut, and GCC's first target that binds comes at
// about 1 s; the feedback shows the queue a feedback interval after it
// starts to build. pion's own parser of this feedback (internal/cc) is not
// importable, so the few lines that walk the chunks are here.
type deliveryWatch struct {
	interceptor.NoOp
	now    func() time.Time
	report func(deliveryReport) // called with mu held: must not call back

	mu    sync.Mutex
	start time.Time
	sent  [sentSlots]sentPacket
	// The receiver's reference time, unwrapped (24 bits of 64 ms), and
	// the last feedback's count: each RTP sender's RTCP reader is handed
	// the same transport-wide feedback, and a packet counted twice would
	// double the rates.
	ref     int64
	refInit bool
	fbCount uint8
	// The one-way delay's minimum (send time on our clock to arrival on
	// the receiver's: an unknown offset, which the minimum takes out).
	base    pace.Baseline
	arrived [arrivalSlots]arrival
	next    int // next slot of arrived
}

// sentSlots covers the packets in flight: the receiver reports each within
// a feedback interval, and 4096 packets is seconds at any rate we send.
const sentSlots = 4096

// arrivalSlots keeps enough arrivals for deliveryWindow at our highest
// rate (8 Mbit/s of 1200-byte packets is 210 packets in 250 ms).
const arrivalSlots = 512

// deliveryWindow is the span of the receiver's clock over which the
// arrival rate is measured: a few frames, so that while a queue spaces the
// packets it is the link's rate, and short enough to see a cut at once.
const deliveryWindow = 250 * time.Millisecond

type sentPacket struct {
	seq  uint16
	ok   bool
	at   time.Duration // since start, our clock
	size int
}

type arrival struct {
	at, wait time.Duration // arrival (receiver's clock), one-way delay over the base
	size     int
}

// deliveryReport is what one feedback said: the newest received packet's
// wait (its one-way delay over the minimum), the rate at which the packets
// that waited arrived over the last deliveryWindow (0: too few waited; a
// packet-train measure of what the link carries, known as soon as a queue
// shows, not after a one-second average has caught up), and the packets
// it named as missing; Reported counts those it named in all.
type deliveryReport struct {
	pace.Report
	Reported int
}

type deliveryWatchFactory struct {
	report func(deliveryReport)
}

func (f deliveryWatchFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &deliveryWatch{now: time.Now, report: f.report}, nil
}

// BindLocalStream notes each packet's transport-wide sequence number, send
// time and size. Registered before the TWCC header interceptor, it writes
// after it (nearer the socket), so the number is there.
func (d *deliveryWatch) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if ext := h.GetExtension(id); len(ext) >= 2 {
			d.sentPacket(binary.BigEndian.Uint16(ext), h.MarshalSize()+len(payload))
		}
		return w.Write(h, payload, a)
	})
}

func (d *deliveryWatch) sentPacket(seq uint16, size int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if d.start.IsZero() {
		d.start = now
	}
	d.sent[seq%sentSlots] = sentPacket{seq: seq, ok: true, at: now.Sub(d.start), size: size}
}

// BindRTCPReader reads the feedback.
func (d *deliveryWatch) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return seeRTCP(reader, func(pkts []rtcp.Packet) {
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				d.feedback(fb)
			}
		}
	})
}

// feedback walks one TWCC packet: a status per sequence number from the
// base on, and an arrival delta (250 us units, from the reference time)
// for each packet received.
func (d *deliveryWatch) feedback(fb *rtcp.TransportLayerCC) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refInit && fb.FbPktCount == d.fbCount {
		return
	}
	d.fbCount = fb.FbPktCount
	ref := int64(fb.ReferenceTime & 0xffffff)
	if d.refInit {
		// The nearest epoch of the 24-bit counter.
		ref = d.ref + (ref-d.ref+1<<23)&0xffffff - 1<<23
	}
	d.ref, d.refInit = ref, true
	at := time.Duration(ref) * 64 * time.Millisecond
	var r deliveryReport
	var newest time.Duration
	haveNewest := false
	seq := fb.BaseSequenceNumber
	deltas := fb.RecvDeltas
	remaining := int(fb.PacketStatusCount)
	status := func(sym uint16) {
		remaining--
		r.Reported++
		s := seq
		seq++
		if sym == rtcp.TypeTCCPacketNotReceived {
			r.Lost++
			return
		}
		if sym != rtcp.TypeTCCPacketReceivedSmallDelta && sym != rtcp.TypeTCCPacketReceivedLargeDelta {
			return
		}
		if len(deltas) == 0 {
			return
		}
		at += time.Duration(deltas[0].Delta) * time.Microsecond
		deltas = deltas[1:]
		p := d.sent[s%sentSlots]
		if !p.ok || p.seq != s {
			return
		}
		wait := d.base.Add(at, at-p.at)
		d.arrived[d.next] = arrival{at: at, wait: wait, size: p.size}
		d.next = (d.next + 1) % arrivalSlots
		if !haveNewest || p.at >= newest {
			newest, haveNewest = p.at, true
			r.QueueDelay = wait
		}
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength) && remaining > 0; i++ {
				status(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range c.SymbolList {
				if remaining <= 0 {
					break
				}
				status(sym)
			}
		}
	}
	if !haveNewest {
		return
	}
	r.LinkRate = d.linkRate()
	if d.report != nil {
		d.report(r)
	}
}

// queuedFrom is the wait from which a packet counts as having queued:
// above the jitter of a healthy path's arrivals (a few ms on Wi-Fi between
// bursts), far below what a filling bottleneck adds.
const queuedFrom = 10 * time.Millisecond

// linkRate measures the newest run of arrivals that all waited, within
// deliveryWindow: their bytes, less the first packet's, over their span.
func (d *deliveryWatch) linkRate() int {
	last := d.arrived[(d.next+arrivalSlots-1)%arrivalSlots]
	bytes, n, later := 0, 0, 0 // later: the size of the arrival after a
	first := last.at
	for i := 1; i <= arrivalSlots; i++ {
		a := d.arrived[(d.next+arrivalSlots-i)%arrivalSlots]
		if a.size == 0 || a.wait < queuedFrom || last.at-a.at > deliveryWindow || a.at > first {
			break
		}
		bytes += later
		first, later = a.at, a.size
		n++
	}
	// A handful of packets over a few tens of milliseconds at least: a
	// burst arriving in one receive batch has no spacing to read.
	if n < linkMinPackets || last.at-first < linkMinSpan {
		return 0
	}
	return int(int64(bytes) * 8 * int64(time.Second) / int64(last.at-first))
}

const (
	linkMinPackets = 5
	linkMinSpan    = 30 * time.Millisecond
)

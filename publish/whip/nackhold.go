package whip

import (
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// nackHoldoff sits in front of pion's NACK responder and strips from each
// NACK the packets it passed on within the last round trip: their repeat
// is still on its way, so a NACK for them is stale, and resending them
// again only adds to the congestion that lost them. A receiver asks again
// on a timer of its own (pion's every 100 ms, whatever the RTT), and
// behind a bottleneck's queue (200 ms of it at the cut tests' link) each
// lost packet went out three or four times: at the 210 kbit/s cut link
// the sender put some 250 kbit/s on the wire for 100 kbit/s of media, the
// excess the repeats, and the queue never drained. The responder has a
// hold-off of its own, but it times it by the mean of every RTT since the
// stream began, which on a path that was fast for a minute stays near its
// old value when a queue builds. Here the RTT is the receiver reports'
// (RFC 3550 LSR and DLSR), smoothed, rising at once and falling slowly,
// as libwebrtc does not resend a packet within one RTT of its last
// resend. (Our gosrt fork got the same change for SRT's NAKs.)
type nackHoldoff struct {
	interceptor.NoOp
	now func() time.Time

	// queue is the wait at the bottleneck that the transport-wide
	// feedback shows (delivery.go), nil: unknown. A repair waits in the
	// same queue, and it is known ten times a second where the receiver
	// reports' RTT comes once a second: in the first second of a cut
	// they still read the empty path's round trip.
	queue func() time.Duration

	mu   sync.Mutex
	srtt time.Duration
	// passed is when a NACK for a packet was last let through, and how
	// many times, per SSRC of ours and sequence number. NACKs naming
	// another SSRC are left as they are (the responder has nothing to
	// resend for them), so a peer cannot grow this beyond our streams.
	passed map[uint32]map[uint16]nackPassed
	// key is where the video's latest keyframe starts.
	key keyframeMark
	// abandoned counts the repairs not sent as obsolete.
	abandoned uint64
}

// BindLocalStream notes an SSRC of ours, and watches the video's packets
// for where each keyframe starts.
func (h *nackHoldoff) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.passed[info.SSRC] == nil {
		h.passed[info.SSRC] = map[uint16]nackPassed{}
	}
	if !strings.EqualFold(info.MimeType, webrtc.MimeTypeH264) {
		return w
	}
	h.key.ssrc = info.SSRC
	return interceptor.RTPWriterFunc(func(hdr *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		h.mu.Lock()
		h.key.see(hdr, payload, h.now())
		h.mu.Unlock()
		return w.Write(hdr, payload, a)
	})
}

// UnbindLocalStream forgets it.
func (h *nackHoldoff) UnbindLocalStream(info *interceptor.StreamInfo) {
	h.mu.Lock()
	delete(h.passed, info.SSRC)
	h.mu.Unlock()
}

// nackObsoleteQueue is the wait at the bottleneck from which repairs of pictures before the latest keyframe are dropped:
// the link guard's sign of a full queue (pace.Guard). Under it, as with
// random loss on an uncongested path, the link has room for them and
// they complete the pictures shown before the keyframe.
const nackObsoleteQueue = 60 * time.Millisecond

type nackPassed struct {
	at time.Time
	n  int
}

// nackMaxResends bounds the repeats of one packet. A receiver that never
// takes the repair asks for it for as long as the packet is in its
// window: pion's drops a repair that comes more than 64 packets late as
// a replay (its SRTP window) and NACKs it again ten times a second (one
// packet went out eleven times in 1.6 s at the cut test's link), and
// with RTX its NACK generator never hears of repairs at all. Ten, as
// libwebrtc's receiver asks for a packet ten times at most: a NACK let
// through is not always a resend (the responder's rate limit may refuse
// it), so fewer starved repairs at 15 % loss (86 % of frames intact with
// four, against 100 %).
const nackMaxResends = 10

// nackForget is how long a packet's repeats are remembered: longer than a
// receiver NACKs it (its window, a few seconds), far shorter than the
// sequence numbers take to wrap (65536 packets: a minute at 8 Mbit/s).
const nackForget = 10 * time.Second

// nackHoldoffMin is the least hold-off, for a path whose RTT reads near
// zero (loopback) or is not known yet: under it a NACK and the repeat it
// asked for cross.
const nackHoldoffMin = 20 * time.Millisecond

type nackHoldoffFactory struct {
	queue func() time.Duration
}

func (f nackHoldoffFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackHoldoff{now: time.Now, queue: f.queue, passed: map[uint32]map[uint16]nackPassed{}}, nil
}

// BindRTCPReader filters the NACKs read; registered before the responder,
// it reads each RTCP packet first, and the responder sees the packets as
// it left them in the attributes.
func (h *nackHoldoff) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return seeRTCP(reader, h.filter)
}

func (h *nackHoldoff) filter(pkts []rtcp.Packet) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	for _, p := range pkts {
		switch r := p.(type) {
		case *rtcp.ReceiverReport:
			h.rtt(now, r.Reports)
		case *rtcp.SenderReport:
			h.rtt(now, r.Reports)
		}
	}
	rtt, queue := h.srtt, time.Duration(0)
	if h.queue != nil {
		queue = h.queue()
		rtt = max(rtt, queue)
	}
	hold := max(rtt+rtt/4, nackHoldoffMin)
	for _, p := range pkts {
		nack, ok := p.(*rtcp.TransportLayerNack)
		if !ok {
			continue
		}
		seen := h.passed[nack.MediaSSRC]
		if seen == nil {
			continue // not a stream of ours
		}
		// Behind a full bottleneck, a repair of a picture before the
		// latest keyframe is not sent: the keyframe makes it obsolete,
		// and it would take the link from the keyframe and what follows
		// it (as our gosrt fork abandons SRT's pending repairs before a
		// keyframe on a full link).
		obsolete := nack.MediaSSRC == h.key.ssrc && h.key.set && queue >= nackObsoleteQueue
		var keep []uint16
		for _, pair := range nack.Nacks {
			pair.Range(func(seq uint16) bool {
				if obsolete && h.key.before(seq) {
					h.abandoned++
					return true
				}
				p, ok := seen[seq]
				if ok && now.Sub(p.at) >= nackForget {
					ok = false // an old entry, or the numbers wrapped
				}
				if !ok {
					p = nackPassed{}
				}
				if p.n == 0 || now.Sub(p.at) >= hold && p.n < nackMaxResends {
					seen[seq] = nackPassed{at: now, n: p.n + 1}
					keep = append(keep, seq)
				}
				return true
			})
		}
		nack.Nacks = rtcp.NackPairsFromSequenceNumbers(keep)
		if len(seen) > 1024 {
			for seq, p := range seen {
				if now.Sub(p.at) >= nackForget {
					delete(seen, seq)
				}
			}
		}
	}
}

// rtt takes a round trip from each reception report that echoes one of
// our sender reports: now - LSR - DLSR, in NTP's 1/65536 s.
func (h *nackHoldoff) rtt(now time.Time, reports []rtcp.ReceptionReport) {
	for _, r := range reports {
		if r.LastSenderReport == 0 {
			continue
		}
		d := ntpShort(now) - r.LastSenderReport - r.Delay
		if d >= 1<<31 {
			continue // the clock's wrap, or a report from the future
		}
		sample := time.Duration(d) * time.Second >> 16
		if sample > h.srtt {
			h.srtt = sample // up at once: a queue is building
		} else {
			h.srtt += (sample - h.srtt) / 8
		}
	}
}

// ntpShort is the middle 32 bits of t's NTP timestamp (RFC 3550 section
// 4): 16 bits of seconds since 1900, 16 of fraction.
func ntpShort(t time.Time) uint32 {
	const ntpEpoch = 2208988800 // 1900 to 1970, in seconds
	secs := uint64(t.Unix()) + ntpEpoch
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32(secs<<16 | frac>>16)
}

// keyframeMark follows the video's packets as they are first sent to
// know the sequence number the latest keyframe starts at (its first
// packet: the SPS/PPS aggregate or the IDR slice's first fragment).
type keyframeMark struct {
	ssrc    uint32
	set     bool
	start   uint16 // the latest keyframe's first packet
	at      time.Time
	top     uint16 // the highest sequence number sent
	topSeen bool
	auStart uint16 // the current access unit's first packet
	auTS    uint32
	auKey   bool // the current access unit is a keyframe already marked
	auInit  bool
}

// see takes one packet on its way out; repairs (not newer than the
// highest number sent) are passed over.
func (k *keyframeMark) see(hdr *rtp.Header, payload []byte, now time.Time) {
	if k.topSeen && int16(hdr.SequenceNumber-k.top) <= 0 {
		return
	}
	k.top, k.topSeen = hdr.SequenceNumber, true
	if !k.auInit || hdr.Timestamp != k.auTS {
		k.auTS, k.auStart, k.auKey, k.auInit = hdr.Timestamp, hdr.SequenceNumber, false, true
	}
	if !k.auKey && h264Keyframe(payload) {
		k.auKey, k.set, k.start, k.at = true, true, k.auStart, now
	}
}

// before says whether seq was sent before the latest keyframe (within
// half the sequence space: a packet that old has left every window).
func (k *keyframeMark) before(seq uint16) bool {
	return int16(seq-k.start) < 0
}

// h264Keyframe says whether an RTP payload (RFC 6184) holds or starts an
// IDR slice or a sequence parameter set.
func h264Keyframe(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit sizes, each NAL unit after its own
		for q := p[1:]; len(q) > 2; {
			n := int(q[0])<<8 | int(q[1])
			if n == 0 || len(q) < 2+n {
				return false
			}
			if q[2]&0x1f == 5 || q[2]&0x1f == 7 {
				return true
			}
			q = q[2+n:]
		}
	case 28: // FU-A: the start fragment names the NAL unit's type
		return p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}

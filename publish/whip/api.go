package whip

import (
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// h264Fmtp is constrained baseline, packetization mode 1: what every WebRTC
// receiver decodes.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// Payload types we offer; the answer echoes them.
const (
	ptH264 = 102
	ptOpus = 111
)

var (
	h264Cap = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp}
	// Opus is always declared stereo in SDP (RFC 7587); a mono stream is
	// still a valid payload.
	opusCap = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
)

// bweConfig bounds the congestion controller (bit/s, audio included).
type bweConfig struct {
	initial, min, max int
}

// newAPI builds a pion API with only our two codecs (so the answer cannot
// pick another), the NACK responder, RTCP reports, TWCC and the GCC
// congestion controller. bwe receives the estimator pion creates for the
// connection, getter the stats interceptor's view, delivery what each
// transport-wide feedback says (delivery.go); queue is the bottleneck's
// wait the last feedback showed, for the NACK hold-off.
func newAPI(bc bweConfig, loopback bool, bwe chan<- cc.BandwidthEstimator, getter chan<- stats.Getter, delivery func(deliveryReport), queue func() time.Duration) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	videoFB := []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}
	v := h264Cap
	v.RTCPFeedback = videoFB
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: v, PayloadType: ptH264}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	// No RTX (RFC 4588), though a repair resent on the media stream more
	// than 64 packets late is dropped by a pion receiver as a replay (its
	// SRTP window; libwebrtc's is 1024): with RTX offered, a pion endpoint
	// took it and then lost most repairs under 5 % random loss (33 % of
	// frames intact, against 97-100 % without), and its NACK generator,
	// watching the media stream only, asked for every repaired packet for
	// seconds (nackhold.go bounds that).
	a := opusCap
	a.RTCPFeedback = []webrtc.RTCPFeedback{{Type: "transport-cc"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: a, PayloadType: ptOpus}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	// Ahead of the NACK responder (RegisterDefaultInterceptors, below):
	// NACKs for packets resent within the last RTT are dropped first.
	reg.Add(nackHoldoffFactory{queue: queue})
	// Also first: it writes nearer the socket than the TWCC header
	// interceptor (registered below), so it sees each packet's number.
	reg.Add(deliveryWatchFactory{report: delivery})
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		// Not gcc's pacer: its LeakyBucketPacer holds every packet in an
		// unbounded queue drained on a 5 ms ticker at 1.5x the target:
		// when the link is slower than the encoder that queue, not the
		// media queue in front of us, absorbs the excess, and
		// media.Queue's GOP-wise dropping never sees it. The sender
		// paces in its own loop instead (publish/pace), so the excess waits
		// in media.Queue.
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(bc.initial),
			gcc.SendSideBWEMinBitrate(bc.min),
			gcc.SendSideBWEMaxBitrate(bc.max),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
	})
	if err != nil {
		return nil, err
	}
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		select {
		case bwe <- e:
		default:
		}
	})
	reg.Add(ccf)
	// pion's GetStats has no remote-inbound figures for a sender; the stats
	// interceptor gives RTT and loss from the receiver reports.
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, err
	}
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) {
		select {
		case getter <- g:
		default:
		}
	})
	reg.Add(sf)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, err
	}
	// NACK generator and responder (the responder keeps the last 1024
	// packets per stream: a bounded retransmission buffer), RTCP sender
	// and receiver reports, simulcast header extensions.
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(loopback)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

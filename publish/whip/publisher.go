package whip

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// Publisher sends one stream to a WHIP endpoint.
type Publisher struct {
	url     string
	shown   string
	token   string
	http    *http.Client
	timeout time.Duration

	// MinBitrate and MaxBitrate bound what congestion control may ask of
	// the video encoder (bit/s). Defaults: 150 kbit/s and the configured
	// video bitrate.
	MinBitrate, MaxBitrate int
	// KeyframeInterval is the least time between PLI/FIR-driven keyframes.
	KeyframeInterval time.Duration
	// loopback offers 127.0.0.1 as an ICE candidate: only useful when the
	// endpoint is on this machine with no other interface (tests in a
	// network namespace).
	loopback bool

	mu        sync.Mutex
	pc        *webrtc.PeerConnection
	getter    stats.Getter
	videoSSRC uint32

	bytes, vframes, aframes, keyReqs atomic.Uint64
	target                           atomic.Int64
	rate                             media.RateMeter
}

// New is the publish.Factory for https:// (and http://) WHIP URLs.
func New(u *url.URL, cfg publish.Config) (publish.Publisher, error) {
	if err := validateURL(u); err != nil {
		return nil, err
	}
	timeout := cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	hc, err := httpClient(cfg.CAFile, timeout)
	if err != nil {
		return nil, err
	}
	return &Publisher{
		url: u.String(), shown: publish.RedactURL(u.String()), token: cfg.BearerToken,
		http: hc, timeout: timeout, MinBitrate: 150_000, KeyframeInterval: 500 * time.Millisecond,
	}, nil
}

// AudioCodec implements publish.Publisher: WebRTC carries Opus.
func (p *Publisher) AudioCodec() media.Codec { return media.CodecOpus }

// h264Fmtp is constrained baseline, packetization mode 1: what every WebRTC
// receiver decodes.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// newAPI builds a pion API with only our two codecs (so the answer cannot
// pick another), NACK, RTCP reports, TWCC and the GCC congestion
// controller. bwe receives the estimator pion creates for the connection.
func newAPI(initial, lo, hi int, loopback bool, bwe chan<- cc.BandwidthEstimator, getter chan<- stats.Getter) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp, RTCPFeedback: fb},
		PayloadType:        102,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: "transport-cc"}}},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		// No pacer: the encoder follows the target, and a pacer would only
		// add queueing delay in front of the socket.
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(initial), gcc.SendSideBWEMinBitrate(lo),
			gcc.SendSideBWEMaxBitrate(hi), gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
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
	// Our own stats interceptor: pion's GetStats has no per-stream RTP
	// figures, this gives RTT and loss from the receiver reports.
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
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(loopback)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// Run implements publish.Publisher.
func (p *Publisher) Run(ctx context.Context, in publish.Input) error {
	if in.Video.Codec != media.CodecH264 || in.Audio.Codec != media.CodecOpus {
		return media.Errorf(media.CodeInvalidConfig, "WHIP carries H.264 and Opus, got %v and %v", in.Video.Codec, in.Audio.Codec)
	}
	hi := p.MaxBitrate
	if hi <= 0 {
		hi = in.Video.Bitrate
	}
	lo := min(p.MinBitrate, hi)
	bweCh := make(chan cc.BandwidthEstimator, 1)
	getterCh := make(chan stats.Getter, 1)
	api, err := newAPI(hi, lo, hi+in.Audio.Bitrate, p.loopback, bweCh, getterCh)
	if err != nil {
		return media.Wrap(media.CodeInternal, err)
	}

	setupCtx, cancelSetup := context.WithTimeout(ctx, p.timeout)
	defer cancelSetup()
	ice := parseICEServers(p.options(setupCtx))
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: ice})
	if err != nil {
		return media.Wrap(media.CodeInternal, err)
	}
	defer pc.Close()
	p.mu.Lock()
	p.pc = pc
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.pc = nil
		p.mu.Unlock()
	}()

	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp}, "video", "glassagent")
	if err != nil {
		return media.Wrap(media.CodeInternal, err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "glassagent")
	if err != nil {
		return media.Wrap(media.CodeInternal, err)
	}
	var senders []*webrtc.RTPSender
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		t, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return media.Wrap(media.CodeInternal, err)
		}
		senders = append(senders, t.Sender())
	}

	// Watch the connection: connected starts media, failed ends it.
	state := make(chan webrtc.PeerConnectionState, 8)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		select {
		case state <- s:
		default:
		}
	})
	// Candidates gathered after the offer was sent are trickled.
	late := make(chan string, 32)
	gathered := webrtc.GatheringCompletePromise(pc)
	var offerSent atomic.Bool
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || !offerSent.Load() {
			return
		}
		select {
		case late <- "a=" + c.ToJSON().Candidate:
		default:
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return media.Wrap(media.CodeInternal, err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return media.Wrap(media.CodeInternal, err)
	}
	// Full gathering, for a short while: host candidates come at once; a
	// slow STUN/TURN server's candidates follow over trickle PATCH where
	// the endpoint supports it.
	select {
	case <-gathered:
	case <-time.After(time.Second):
	case <-setupCtx.Done():
	}
	offerSent.Store(true)
	sess, links, err := p.post(setupCtx, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	defer p.remove(sess)
	if extra := parseICEServers(links); len(extra) > 0 && len(ice) == 0 {
		// The servers came only with the answer: use them for any ICE
		// restart pion performs.
		pc.SetConfiguration(webrtc.Configuration{ICEServers: extra})
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sess.answer}); err != nil {
		return media.Errorf(media.CodeConnectFailed, "invalid SDP answer from %s: %v", p.shown, err)
	}

	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		pc.Close() // ends the RTCP readers
		wg.Wait()
	}()
	if sess.etag != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.trickle(runCtx, sess, late)
		}()
	}
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.readRTCP(s, in.Encoder)
		}()
	}

	// Wait for ICE and DTLS.
wait:
	for {
		select {
		case s := <-state:
			switch s {
			case webrtc.PeerConnectionStateConnected:
				break wait
			case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
				return media.Errorf(media.CodeConnectFailed, "WebRTC connection to %s failed (ICE/DTLS)", p.shown)
			}
		case <-setupCtx.Done():
			if ctx.Err() != nil {
				return nil
			}
			return media.Errorf(media.CodeTimeout, "WebRTC connection to %s not established within %v (ICE/DTLS)", p.shown, p.timeout)
		}
	}
	select {
	case g := <-getterCh:
		p.mu.Lock()
		p.getter = g
		if enc := senders[0].GetParameters().Encodings; len(enc) > 0 {
			p.videoSSRC = uint32(enc[0].SSRC)
		}
		p.mu.Unlock()
	default:
	}
	if in.OnConnected != nil {
		in.OnConnected()
	}
	select {
	case e := <-bweCh:
		p.target.Store(int64(e.GetTargetBitrate()))
		e.OnTargetBitrateChange(func(bps int) { p.onTarget(bps, lo, hi, in) })
	default:
	}
	err = p.send(runCtx, in, video, audio, state)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// onTarget turns congestion control's target (video and audio together)
// into the video encoder's bitrate, within [lo, hi].
func (p *Publisher) onTarget(bps, lo, hi int, in publish.Input) {
	p.target.Store(int64(bps))
	v := bps - in.Audio.Bitrate
	v = max(lo, min(hi, v))
	if in.Encoder != nil {
		in.Encoder.SetBitrate(v)
	}
}

// trickle sends late candidates in PATCH requests with the session's ETag.
func (p *Publisher) trickle(ctx context.Context, s *session, late <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-late:
			p.patch(ctx, s, c+"\r\n")
		}
	}
}

// readRTCP answers PLI and FIR with a keyframe, at most one per
// KeyframeInterval (a receiver asks again and again while it waits).
func (p *Publisher) readRTCP(s *webrtc.RTPSender, enc publish.EncoderControl) {
	var last time.Time
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.keyReqs.Add(1)
				if enc != nil && time.Since(last) >= p.KeyframeInterval {
					last = time.Now()
					enc.ForceKeyframe()
				}
			}
		}
	}
}

// send writes access units as samples until the queue closes, ctx ends or
// the connection drops.
func (p *Publisher) send(ctx context.Context, in publish.Input, video, audio *webrtc.TrackLocalStaticSample, state <-chan webrtc.PeerConnectionState) error {
	var (
		started      bool
		lastV, lastA time.Duration
		haveV, haveA bool
		annexB       []byte
		frameDur     = time.Second / time.Duration(max(in.Video.FPS, 1))
		opusDur      = time.Duration(in.Audio.FrameSamples) * time.Second / time.Duration(max(in.Audio.SampleRate, 1))
	)
	for {
		select {
		case s := <-state:
			if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected || s == webrtc.PeerConnectionStateClosed {
				return media.Errorf(media.CodeConnectionLost, "WebRTC connection to %s lost (ICE %s)", p.shown, s)
			}
		default:
		}
		au, err := in.Queue.Pop(ctx)
		if err != nil {
			if errors.Is(err, media.ErrQueueClosed) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !started {
			if !au.Codec.IsVideo() || !au.Key {
				continue
			}
			started = true
		}
		switch au.Codec {
		case media.CodecH264:
			d := frameDur
			if haveV && au.PTS > lastV {
				d = au.PTS - lastV
			}
			lastV, haveV = au.PTS, true
			annexB = annexB[:0]
			for _, n := range au.NALUs {
				annexB = append(annexB, 0, 0, 0, 1)
				annexB = append(annexB, n...)
			}
			if err := video.WriteSample(pionmedia.Sample{Data: annexB, Duration: d}); err != nil {
				return media.Errorf(media.CodeConnectionLost, "WebRTC video write: %v", err)
			}
			p.vframes.Add(1)
			p.bytes.Add(uint64(len(annexB)))
			p.rate.Add(uint64(len(annexB)))
		case media.CodecOpus:
			d := opusDur
			if haveA && au.PTS > lastA {
				d = au.PTS - lastA
			}
			lastA, haveA = au.PTS, true
			if err := audio.WriteSample(pionmedia.Sample{Data: au.NALUs[0], Duration: d}); err != nil {
				return media.Errorf(media.CodeConnectionLost, "WebRTC audio write: %v", err)
			}
			p.aframes.Add(1)
			p.bytes.Add(uint64(len(au.NALUs[0])))
			p.rate.Add(uint64(len(au.NALUs[0])))
		}
	}
}

// Stats implements publish.Publisher.
func (p *Publisher) Stats() publish.Stats {
	s := publish.Stats{
		BytesSent:     p.bytes.Load(),
		Bitrate:       p.rate.Bitrate(),
		TargetBitrate: int(p.target.Load()),
		VideoFrames:   p.vframes.Load(),
		AudioFrames:   p.aframes.Load(),
	}
	p.mu.Lock()
	g, ssrc := p.getter, p.videoSSRC
	p.mu.Unlock()
	if g == nil {
		return s
	}
	if v := g.Get(ssrc); v != nil {
		s.RTT = v.RemoteInboundRTPStreamStats.RoundTripTime
		s.Loss = v.RemoteInboundRTPStreamStats.FractionLost
		s.PacketsSent = v.OutboundRTPStreamStats.PacketsSent
		s.Retransmits = uint64(v.OutboundRTPStreamStats.NACKCount)
	}
	return s
}

// KeyframeRequests is how many PLI/FIR the far end sent.
func (p *Publisher) KeyframeRequests() uint64 { return p.keyReqs.Load() }

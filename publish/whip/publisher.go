package whip

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/publish/pace"
)

// Publisher sends one stream to a WHIP endpoint.
type Publisher struct {
	url     string
	shown   string // url, redacted, for errors
	token   string
	http    *http.Client
	timeout time.Duration

	// MinBitrate and MaxBitrate bound what congestion control may ask of
	// the video encoder (bit/s). Defaults: 150 kbit/s and the configured
	// video bitrate.
	MinBitrate, MaxBitrate int
	// KeyframeInterval is the least time between PLI/FIR-driven keyframes.
	KeyframeInterval time.Duration
	// gatherWait bounds the wait for ICE gathering before the offer goes
	// out; later candidates are trickled (see trickle.go).
	gatherWait time.Duration
	// Loopback offers 127.0.0.1 as an ICE candidate: only useful when the
	// endpoint is on this machine (a local relay, tests in a network
	// namespace). New sets it when the URL's host is a loopback address.
	Loopback bool

	mu        sync.Mutex
	getter    stats.Getter
	videoSSRC uint32

	bytes, packets, vframes, aframes, keyReqs atomic.Uint64
	target                                    atomic.Int64
	// audioPack is how many 20 ms Opus frames go in one RTP packet: 1,
	// or packAudioFrames while the target is low (setTarget).
	audioPack atomic.Int32
	firstRTP  atomic.Int64 // unix ns of the first RTP packet written
	rate      media.RateMeter

	// tmu guards what makes the target: GCC's, the link guard's cap on
	// it, and what turning it into the encoder's bitrate needs (tgt,
	// set for the length of a Run).
	tmu    sync.Mutex
	gcc    int
	guard  pace.Guard
	tgt    targetRange
	pacing atomic.Int64 // the link guard's pacing rate, bit/s (0: none)
	queue  atomic.Int64 // the last feedback's queue delay, ns
}

// queueDelay is the wait at the bottleneck the last transport-wide
// feedback showed.
func (p *Publisher) queueDelay() time.Duration { return time.Duration(p.queue.Load()) }

// targetRange is how a target (audio and video) becomes the video
// encoder's bitrate: less the audio, within [lo, hi].
type targetRange struct {
	lo, hi, ceiling, audio int
	enc                    publish.EncoderControl // nil: none, or not running
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
		gatherWait: time.Second, Loopback: loopbackHost(u.Hostname()),
	}, nil
}

// loopbackHost: an endpoint on this machine (a local relay) is reached
// through loopback, which ICE leaves out unless told.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// AudioCodec implements publish.Publisher: WebRTC carries Opus.
func (p *Publisher) AudioCodec() media.Codec { return media.CodecOpus }

// Run implements publish.Publisher.
func (p *Publisher) Run(ctx context.Context, in publish.Input) error {
	if in.Video.Codec != media.CodecH264 || in.Audio.Codec != media.CodecOpus {
		return media.Errorf(media.CodeInvalidConfig, "WHIP carries H.264 and Opus, got %v and %v", in.Video.Codec, in.Audio.Codec)
	}
	hi := p.MaxBitrate
	if hi <= 0 {
		hi = in.Video.Bitrate
	}
	if hi <= 0 {
		hi = 2_000_000
	}
	lo := max(min(p.MinBitrate, hi), 1)
	bweCh := make(chan cc.BandwidthEstimator, 1)
	getterCh := make(chan stats.Getter, 1)
	// The estimator's target covers audio as well; onTarget takes it out.
	bc := bweConfig{initial: hi + in.Audio.Bitrate, min: lo + in.Audio.Bitrate, max: hi + in.Audio.Bitrate}
	p.tmu.Lock()
	p.gcc, p.guard = bc.initial, pace.Guard{}
	p.tgt = targetRange{lo: lo, hi: hi, ceiling: bc.max, audio: in.Audio.Bitrate}
	p.tmu.Unlock()
	p.pacing.Store(0)
	defer func() {
		// gcc and the interceptors call back on goroutines of their own,
		// which may run after Run returned: leave the encoder alone then.
		p.tmu.Lock()
		p.tgt.enc = nil
		p.tmu.Unlock()
	}()
	api, err := newAPI(bc, p.Loopback, bweCh, getterCh, p.onDelivery, p.queueDelay)
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

	video, err := webrtc.NewTrackLocalStaticRTP(h264Cap, "video", "glassagent")
	if err != nil {
		return media.Wrap(media.CodeInternal, err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(opusCap, "audio", "glassagent")
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

	state := make(chan webrtc.PeerConnectionState, 16)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		select {
		case state <- s:
		default:
		}
	})
	// Candidates gathered after the offer was sent go to late, for trickle.
	late := make(chan string, 64)
	gathered := webrtc.GatheringCompletePromise(pc)
	var offerSent atomic.Bool
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if !offerSent.Load() {
			return
		}
		cand := trickleEnd
		if c != nil {
			cand = c.ToJSON().Candidate
		}
		select {
		case late <- cand:
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
	select {
	case <-gathered:
	case <-time.After(p.gatherWait):
	case <-setupCtx.Done():
	}
	// From here candidates are trickled; one gathered between this and the
	// next line is in both the offer and a PATCH, which ICE tolerates.
	offerSent.Store(true)
	sdpOffer := pc.LocalDescription().SDP
	sess, links, err := p.post(setupCtx, sdpOffer)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer p.remove(sess)
	if extra := parseICEServers(links); len(extra) > 0 && len(ice) == 0 {
		// The servers came only with the answer; pion uses them for any
		// later ICE restart (the offer's gathering is done).
		_ = pc.SetConfiguration(webrtc.Configuration{ICEServers: extra})
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sess.answer}); err != nil {
		return media.Errorf(media.CodeConnectFailed, "invalid SDP answer from %s: %v", p.shown, err)
	}

	var wg sync.WaitGroup
	runCtx, stop := context.WithCancelCause(ctx)
	defer func() {
		stop(nil)
		pc.Close() // ends the RTCP readers
		wg.Wait()
	}()
	if sess.etag != "" {
		h := parseFragHeader(sdpOffer)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.trickle(runCtx, sess, h, late)
		}()
	}
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.readRTCP(s, in.Encoder)
		}()
	}

	if err := p.waitConnected(ctx, setupCtx, state); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	cancelSetup()
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
	p.tmu.Lock()
	p.tgt.enc = in.Encoder
	p.tmu.Unlock()
	select {
	case e := <-bweCh:
		p.tmu.Lock()
		p.gcc = e.GetTargetBitrate()
		p.setTarget(p.guard.Limit(time.Now(), p.gcc), bc.max)
		p.tmu.Unlock()
		e.OnTargetBitrateChange(p.onTarget)
	default:
	}
	// After connecting, losing ICE ends the publish; reconnecting is the
	// caller's policy.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-runCtx.Done():
				return
			case s := <-state:
				switch s {
				case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
					stop(media.Errorf(media.CodeConnectionLost, "WebRTC connection to %s lost (%s)", p.shown, s))
					return
				}
			}
		}
	}()
	if in.OnConnected != nil {
		in.OnConnected()
	}
	snd := &sender{p: p, in: in, video: newRTPStream(video, 90000), audio: newRTPStream(audio, 48000)}
	err = snd.run(runCtx)
	if ctx.Err() != nil {
		return nil
	}
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// waitConnected waits for ICE and DTLS (the peer connection's connected
// state), within the connect timeout.
func (p *Publisher) waitConnected(ctx, setupCtx context.Context, state <-chan webrtc.PeerConnectionState) error {
	for {
		select {
		case s := <-state:
			switch s {
			case webrtc.PeerConnectionStateConnected:
				return nil
			case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
				return media.Errorf(media.CodeConnectFailed, "WebRTC connection to %s failed (ICE/DTLS)", p.shown)
			}
		case <-setupCtx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return media.Errorf(media.CodeTimeout, "WebRTC connection to %s not established within %v (ICE/DTLS)", p.shown, p.timeout)
		}
	}
}

// Below packAudioBelow bit/s of target (audio and video) the audio goes
// three 20 ms frames to a packet, saving about 20 kbit/s of headers: a
// tenth of a 200 kbit/s link, a fiftieth of 1 Mbit/s, where the 40 ms it
// adds to the audio's delay is not worth it; back to one above
// unpackAudioAbove.
const (
	packAudioFrames  = 3
	packAudioBelow   = 500_000
	unpackAudioAbove = 800_000
)

// setTarget notes congestion control's target and packs the audio by it,
// with hysteresis, so a target near the line does not switch the audio's
// packets back and forth. The lines come down for a stream whose own
// ceiling (the estimator's, audio included) is near them: there only
// congestion should pack the audio, not the configuration.
func (p *Publisher) setTarget(bps, ceiling int) {
	p.target.Store(int64(bps))
	switch {
	case bps < min(packAudioBelow, ceiling/2):
		p.audioPack.Store(packAudioFrames)
	case bps > min(unpackAudioAbove, ceiling*3/4):
		p.audioPack.Store(1)
	}
}

// onTarget takes GCC's new target (video and audio together).
func (p *Publisher) onTarget(bps int) {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	p.gcc = bps
	p.applyLocked(p.guard.Limit(time.Now(), bps))
}

// onDelivery takes what a transport-wide feedback said (delivery.go) to
// the link guard.
func (p *Publisher) onDelivery(r deliveryReport) {
	p.queue.Store(int64(r.QueueDelay))
	p.tmu.Lock()
	defer p.tmu.Unlock()
	now := time.Now()
	p.guard.Update(now, r.Report, p.rate.Bitrate())
	// A new cap, its rise, or a cut of GCC's held back that the feedback
	// now bears out.
	if t := p.guard.Limit(now, p.gcc); t != int(p.target.Load()) {
		p.applyLocked(t)
	}
	p.pacing.Store(int64(p.guard.Pacing()))
}

// applyLocked makes t (GCC's target under the link guard, Guard.Limit) the
// target and turns it into the video encoder's bitrate.
func (p *Publisher) applyLocked(t int) {
	p.setTarget(t, p.tgt.ceiling)
	if p.tgt.enc != nil {
		v := max(p.tgt.lo, min(p.tgt.hi, t-p.tgt.audio))
		_ = p.tgt.enc.SetBitrate(v) // an encoder that cannot change keeps its rate
	}
}

// pacingFactor times the target is the pace of a healthy link: libwebrtc's
// factor, which spreads a keyframe over a few frame intervals.
const pacingFactor = 2.5

// pacingRate is the rate the sender paces at, bit/s (0: unpaced): the
// link's own while the link guard sees it full, else pacingFactor times
// the target.
func (p *Publisher) pacingRate() int {
	if r := p.pacing.Load(); r > 0 {
		return int(r)
	}
	return int(float64(p.target.Load()) * pacingFactor)
}

// sent counts what went on the wire.
func (p *Publisher) sent(bytes, packets int) {
	if packets == 0 {
		return
	}
	p.firstRTP.CompareAndSwap(0, time.Now().UnixNano())
	p.bytes.Add(uint64(bytes))
	p.packets.Add(uint64(packets))
	p.rate.Add(uint64(bytes))
}

// Stats implements publish.Publisher.
func (p *Publisher) Stats() publish.Stats {
	s := publish.Stats{
		BytesSent:        p.bytes.Load(),
		PacketsSent:      p.packets.Load(),
		Bitrate:          p.rate.Bitrate(),
		TargetBitrate:    int(p.target.Load()),
		VideoFrames:      p.vframes.Load(),
		AudioFrames:      p.aframes.Load(),
		KeyframeRequests: p.keyReqs.Load(),
	}
	p.mu.Lock()
	g, ssrc := p.getter, p.videoSSRC
	p.mu.Unlock()
	if g == nil {
		return s
	}
	if v := g.Get(ssrc); v != nil {
		// From the receiver reports: RTT has 1/65536 s resolution, loss is
		// the fraction lost since the previous report.
		s.RTT = v.RemoteInboundRTPStreamStats.RoundTripTime
		s.Loss = v.RemoteInboundRTPStreamStats.FractionLost
		// NACKs received: each asks the responder to resend packets.
		s.Retransmits = uint64(v.OutboundRTPStreamStats.NACKCount)
	}
	return s
}

// KeyframeRequests is how many PLI/FIR the far end sent.
func (p *Publisher) KeyframeRequests() uint64 { return p.keyReqs.Load() }

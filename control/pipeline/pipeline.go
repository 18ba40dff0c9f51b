// Package pipeline wires one stream's stages together: capture -> encode ->
// a bounded queue -> publish. It owns the goroutines that move data between
// them; control decides when a pipeline starts, publishes, reconnects and
// stops.
//
// The capture and encode side runs for the pipeline's whole life, while a
// publisher may come and go (Publish can be called again after a failure):
// so a reconnect costs a new connection, not a new camera or encoder, and the
// first packet on the new connection is a fresh keyframe.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassagent/glassagent/audio"
	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// AudioProcessor is the audio front-end between microphone and encoder
// (noise suppression, echo cancellation, resampling). Process returns a
// block valid until its next call.
type AudioProcessor interface {
	Process(b *media.AudioBlock) *media.AudioBlock
}

// Config is what a pipeline runs. The pipeline takes ownership of the sources
// and encoders and closes them on Stop.
type Config struct {
	Clock     *media.Clock
	Video     capture.VideoSource
	Audio     capture.AudioSource
	AudioProc AudioProcessor // may be nil
	// Echo is the echo canceller's far-end feed (nil without echo
	// cancellation): what the device plays goes in through FeedEcho.
	Echo *audio.Reference
	// RateByCaller: the caller's bitrate controller owns the encoder's
	// bitrate, so a transport's own requests (WHIP's congestion control)
	// are not applied; the transport still reports them as its
	// TargetBitrate, which the controller follows. Two owners would undo
	// each other's decisions.
	RateByCaller bool
	// VideoEncoderInfo and AudioStages say what runs, for the status.
	VideoEncoderInfo string
	AudioStages      []string
	VideoEncoder     encode.VideoEncoder
	AudioEncoder     encode.AudioEncoder
	Queue            media.QueueConfig
}

// Pipeline is a running capture+encode side and, at times, a publisher.
type Pipeline struct {
	cfg    Config
	queue  *media.Queue
	cancel context.CancelFunc
	failed chan struct{} // closed on the first capture/encode failure
	errMu  sync.Mutex
	err    error
	start  time.Time

	pubMu   sync.Mutex
	pub     publish.Publisher
	lastPub publish.Stats // the last publisher's final figures

	captureWG   sync.WaitGroup
	finished    atomic.Bool
	encCloseErr error

	// The resolution ladder: the rung asked (SetRung), the one applied.
	wantRung atomic.Pointer[Rung]
	rungMu   sync.Mutex
	rung     Rung
	rungNote string

	framesCaptured atomic.Uint64
	framesSkipped  atomic.Uint64 // left out for a rung's lower frame rate
	framesEncoded  atomic.Uint64
	audioUnits     atomic.Uint64
	seqGaps        atomic.Uint64
	videoBytes     atomic.Uint64
	keyframes      atomic.Uint64
	rate           media.RateMeter
}

// Start starts capture and encoding into the pipeline's queue.
func Start(cfg Config) (*Pipeline, error) {
	if cfg.Clock == nil || cfg.Video == nil || cfg.Audio == nil || cfg.VideoEncoder == nil || cfg.AudioEncoder == nil {
		return nil, errors.New("pipeline: clock, sources and encoders are required")
	}
	if af, ap := cfg.Audio.Format(), cfg.AudioEncoder.Params(); cfg.AudioProc == nil && (af.SampleRate != ap.SampleRate || af.Channels != ap.Channels) {
		return nil, media.Errorf(media.CodeInvalidConfig, "microphone gives %d Hz x%d but the encoder wants %d Hz x%d and no resampler is configured",
			af.SampleRate, af.Channels, ap.SampleRate, ap.Channels)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		cfg:    cfg,
		cancel: cancel,
		failed: make(chan struct{}),
		start:  time.Now(),
	}
	qc := cfg.Queue
	if qc.OnVideoDrop == nil {
		// Recover from a drop at once: the queue waits for a keyframe.
		qc.OnVideoDrop = cfg.VideoEncoder.ForceKeyframe
	}
	p.queue = media.NewQueue(qc)
	vf := cfg.Video.Format()
	p.rung = Rung{Width: vf.Width, Height: vf.Height, FPS: vf.FPS}
	p.captureWG.Add(2)
	go p.runVideo(ctx)
	go p.runAudio(ctx)
	return p, nil
}

// withCaptureTime puts the frame's capture instant in an SEI in front of
// its first slice (after SPS and PPS, where the standard wants SEI), so any
// receiver can measure capture-to-arrival latency end to end, through every
// transport, with no side channel.
func withCaptureTime(nalus [][]byte, captured time.Time) [][]byte {
	i := 0
	for i < len(nalus) && (len(nalus[i]) == 0 || !isSlice(nalus[i][0]&0x1f)) {
		i++
	}
	out := make([][]byte, 0, len(nalus)+1)
	out = append(out, nalus[:i]...)
	out = append(out, media.AppendCaptureTimeSEI(make([]byte, 0, 32), captured))
	return append(out, nalus[i:]...)
}

// isSlice is true for the VCL NAL unit types (coded slices 1 to 5).
func isSlice(typ byte) bool { return typ >= 1 && typ <= 5 }

func (p *Pipeline) fail(err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.err == nil {
		p.err = err
		close(p.failed)
	}
}

// Failed is closed when capture or encoding failed; Err says why.
func (p *Pipeline) Failed() <-chan struct{} { return p.failed }

// Err returns the capture/encode failure, if any.
func (p *Pipeline) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

func (p *Pipeline) runVideo(ctx context.Context) {
	defer p.captureWG.Done()
	var lastSeq uint64
	first := true
	rs := rungState{cur: p.rung}
	for {
		f, err := p.cfg.Video.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.fail(wrapCode(media.CodeCameraFailed, "camera", err))
			}
			return
		}
		p.framesCaptured.Add(1)
		if !first && f.Seq > lastSeq+1 {
			p.seqGaps.Add(f.Seq - lastSeq - 1)
		}
		first, lastSeq = false, f.Seq
		p.applyRung(&rs, f)
		if !rs.gate.keep(f.PTS) {
			p.framesSkipped.Add(1)
			f.Release()
			continue
		}
		in := f
		if rs.scaler != nil {
			// The scaled frame is the scaler's: the camera's buffer goes
			// back before encoding.
			if in, err = rs.scaler.Scale(f); err != nil {
				f.Release()
				p.fail(wrapCode(media.CodeEncoderFailed, "scaling to the ladder's rung", err))
				return
			}
			f.Release()
		}
		units, err := p.cfg.VideoEncoder.Encode(in)
		f.Release() // a no-op when released above
		if err != nil {
			p.fail(wrapCode(media.CodeEncoderFailed, "video encoder", err))
			return
		}
		for _, au := range units {
			if au.Codec == media.CodecH264 && !au.Captured.IsZero() {
				au.NALUs = withCaptureTime(au.NALUs, au.Captured)
			}
			p.framesEncoded.Add(1)
			n := uint64(au.Size())
			p.videoBytes.Add(n)
			p.rate.Add(n)
			if au.Key {
				au.Resync, rs.resync = rs.resync, false
				p.keyframes.Add(1)
			}
			p.queue.Push(au)
		}
	}
}

func (p *Pipeline) runAudio(ctx context.Context) {
	defer p.captureWG.Done()
	for {
		b, err := p.cfg.Audio.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.fail(wrapCode(media.CodeMicFailed, "microphone", err))
			}
			return
		}
		if p.cfg.AudioProc != nil {
			b = p.cfg.AudioProc.Process(b)
		}
		units, err := p.cfg.AudioEncoder.Encode(b)
		if err != nil {
			p.fail(wrapCode(media.CodeEncoderFailed, "audio encoder", err))
			return
		}
		for _, au := range units {
			p.audioUnits.Add(1)
			p.queue.Push(au)
		}
	}
}

// wrapCode keeps an error's own code when it has one.
func wrapCode(c media.Code, what string, err error) error {
	var me *media.Error
	if errors.As(err, &me) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return &media.Error{Code: c, Msg: what + ": " + err.Error(), Err: err}
}

// Publish runs pub on the pipeline's stream until ctx ends (nil), the
// publisher fails, or capture/encoding fails (that error). Before the
// publisher starts, the queue is flushed and a keyframe forced, so the new
// connection starts on a fresh IDR rather than stale frames.
func (p *Pipeline) Publish(ctx context.Context, pub publish.Publisher, onConnected func()) error {
	if err := p.Err(); err != nil {
		return err
	}
	p.pubMu.Lock()
	p.pub = pub
	p.pubMu.Unlock()
	defer func() {
		p.pubMu.Lock()
		p.pub = nil
		p.lastPub = pub.Stats()
		p.pubMu.Unlock()
	}()
	p.queue.Flush()
	p.cfg.VideoEncoder.ForceKeyframe()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.failed:
			cancel()
		case <-runCtx.Done():
		}
	}()
	err := pub.Run(runCtx, publish.Input{
		Video:       p.cfg.VideoEncoder.Params(),
		Audio:       p.cfg.AudioEncoder.Params(),
		Queue:       p.queue,
		Encoder:     p.encoderControl(),
		OnConnected: onConnected,
	})
	if ferr := p.Err(); ferr != nil {
		return ferr
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Describe says which video encoder runs and which audio stages, e.g.
// "video: hardware /dev/video3 (enc); audio: highpass 80 Hz, noise suppression".
func (p *Pipeline) Describe() string {
	d := "video: " + p.VideoInfo()
	if len(p.cfg.AudioStages) > 0 {
		d += "; audio: " + strings.Join(p.cfg.AudioStages, ", ")
	}
	return d
}

// VideoInfo says which video encoder runs and why, and, for a hardware
// encoder once frames flow, how they reach it.
func (p *Pipeline) VideoInfo() string {
	d := p.cfg.VideoEncoderInfo
	if in, ok := p.cfg.VideoEncoder.(inputReporter); ok {
		if how, _, _ := in.Input(); how != "" {
			d += ", input " + how
		}
	}
	return d
}

// inputReporter is a hardware encoder that says how frames reach it
// (dma-buf import from the camera, or a copy and why).
type inputReporter interface {
	Input() (how string, imported, copied uint64)
}

// FeedEcho tells the echo canceller that the speaker plays samples (in
// format f) from the wall-clock instant at on. Without echo cancellation
// it does nothing: playing a sound never depends on a stream.
func (p *Pipeline) FeedEcho(samples []int16, f media.AudioFormat, at time.Time) error {
	if p.cfg.Echo == nil {
		return nil
	}
	return p.cfg.Echo.Feed(&media.AudioBlock{Format: f, Samples: samples, PTS: p.cfg.Clock.At(at)})
}

// encoderControl is what a publisher may steer: everything, or keyframes
// only when the caller owns the bitrate.
func (p *Pipeline) encoderControl() publish.EncoderControl {
	if p.cfg.RateByCaller {
		return keyframesOnly{p.cfg.VideoEncoder}
	}
	return p.cfg.VideoEncoder
}

// keyframesOnly passes a transport's keyframe requests on and drops its
// bitrate requests (see Config.RateByCaller).
type keyframesOnly struct{ enc encode.VideoEncoder }

func (k keyframesOnly) ForceKeyframe()       { k.enc.ForceKeyframe() }
func (k keyframesOnly) SetBitrate(int) error { return nil }

// Encoder returns the video encoder's controls (bitrate, keyframe).
func (p *Pipeline) Encoder() publish.EncoderControl { return p.cfg.VideoEncoder }

// Finish ends capture and encoding and closes the queue, so that a running
// publisher sends what is still queued and then returns nil: the clean end
// of a stream, with nothing cut off. It returns once capture has stopped.
func (p *Pipeline) Finish() {
	if p.finished.Swap(true) {
		return
	}
	p.cancel()
	p.captureWG.Wait()
	// A hardware encoder holds frames in flight: drain them into the
	// queue so the stream ends on the last captured frame.
	units, err := p.cfg.VideoEncoder.Close()
	for _, au := range units {
		p.queue.Push(au)
	}
	p.encCloseErr = err
	p.queue.Close()
}

// Stop ends capture and encoding and frees the devices and encoders. It
// waits for the pipeline's goroutines; call it after Publish returned.
func (p *Pipeline) Stop() error {
	p.Finish()
	return errors.Join(p.encCloseErr, p.cfg.AudioEncoder.Close(), p.cfg.Video.Close(), p.cfg.Audio.Close())
}

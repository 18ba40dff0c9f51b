package encode

import (
	"time"

	aac "github.com/tphakala/go-aac"

	"github.com/glassagent/glassagent/media"
)

// AAC encodes AAC-LC in pure Go (tphakala/go-aac), so the static device
// build has it.
type AAC struct {
	enc      *aac.Encoder
	fr       *framer
	params   media.AudioParams
	planes   [][]float32 // deinterleaved frame, reused
	delay    time.Duration
	frameDur time.Duration
	out      []*media.AccessUnit
}

// NewAAC makes an AAC-LC encoder at 44.1 or 48 kHz, mono or stereo.
func NewAAC(cfg AudioConfig) (*AAC, error) {
	if err := cfg.validate(44100, 48000); err != nil {
		return nil, err
	}
	enc, err := aac.NewEncoder(aac.EncoderConfig{
		SampleRate: cfg.SampleRate,
		Channels:   cfg.Channels,
		Bitrate:    cfg.Bitrate,
		// The fast quantizer search: a device's CPU goes to video first.
		Coder: aac.CoderFast,
	})
	if err != nil {
		return nil, media.Errorf(media.CodeEncoderFailed, "AAC encoder: %w", err)
	}
	a := &AAC{
		enc: enc,
		fr:  newFramer(media.AudioFormat{SampleRate: cfg.SampleRate, Channels: cfg.Channels}, aac.FrameSize),
		params: media.AudioParams{
			Codec: media.CodecAAC, SampleRate: cfg.SampleRate, Channels: cfg.Channels,
			Bitrate: cfg.Bitrate, Config: enc.AudioSpecificConfig(), FrameSamples: aac.FrameSize,
		},
		planes: make([][]float32, cfg.Channels),
		// The encoder outputs a frame one call late and its decoded output
		// starts enc.Delay() samples late (priming). Stamping each frame
		// that much earlier keeps audio in sync with video, as ffmpeg's
		// own AAC encoder does with its negative first PTS.
		delay:    time.Duration(int64(enc.Delay()) * int64(time.Second) / int64(cfg.SampleRate)),
		frameDur: time.Duration(aac.FrameSize) * time.Second / time.Duration(cfg.SampleRate),
	}
	for c := range a.planes {
		a.planes[c] = make([]float32, aac.FrameSize)
	}
	return a, nil
}

// Params implements AudioEncoder.
func (a *AAC) Params() media.AudioParams { return a.params }

// Encode implements AudioEncoder.
func (a *AAC) Encode(b *media.AudioBlock) ([]*media.AccessUnit, error) {
	if err := a.fr.check(b); err != nil {
		return nil, err
	}
	a.out = a.out[:0]
	err := a.fr.push(b, func(pcm []int16, pts time.Duration) error {
		ch := len(a.planes)
		for i := 0; i < aac.FrameSize; i++ {
			for c := 0; c < ch; c++ {
				a.planes[c][i] = float32(pcm[i*ch+c]) / 32768
			}
		}
		frame, err := a.enc.EncodeFrame(nil, a.planes)
		if err != nil {
			return media.Errorf(media.CodeEncoderFailed, "AAC: %w", err)
		}
		if len(frame) == 0 {
			return nil // priming: the first frame comes out with the next
		}
		// This output is the previous input frame (one call late), and
		// decodes to priming first: stamp it a frame and the delay early.
		t := pts - a.frameDur - a.delay
		a.out = append(a.out, &media.AccessUnit{Codec: media.CodecAAC, PTS: t, DTS: t, Key: true, NALUs: [][]byte{frame}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(a.out) == 0 {
		return nil, nil
	}
	return append([]*media.AccessUnit(nil), a.out...), nil
}

// Close implements AudioEncoder.
func (a *AAC) Close() error { return nil }

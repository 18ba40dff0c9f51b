package encode

import (
	aac "github.com/tphakala/go-aac"

	"github.com/glassagent/glassagent/media"
)

// AAC encodes AAC-LC in pure Go (tphakala/go-aac), so the static device
// build has it. Output units are raw AAC frames (no ADTS); Params().Config
// is the AudioSpecificConfig a muxer needs.
//
// Timestamps and priming: go-aac, like ffmpeg's encoder it is ported from,
// returns nothing for the first frame and then one access unit per frame,
// and the decoded stream starts with EncoderDelay (1024) samples of priming.
// Access unit k therefore decodes to the input samples [(k-1)*1024, k*1024)
// and is stamped firstPTS + (k-1)*1024/rate: the first unit, pure priming,
// carries firstPTS minus one frame (21.3 ms at 48 kHz), exactly as ffmpeg
// stamps it. That keeps decoded sound in sync with video to the sample
// without trimming; publishers start their clocks at the first video IDR, so
// the early unit is harmless (RTMP drops it, MPEG-TS carries it before t0).
// The last input frame stays inside the encoder at Close (21 ms at the end
// of a stream).
type AAC struct {
	enc    *aac.Encoder
	fr     *framer
	params media.AudioParams
	planes [][]float32 // deinterleaved frame, reused
	// early is how many samples before the input frame it came with a
	// unit starts: see NewAAC.
	early  int64
	out    []*media.AccessUnit
	closed bool
}

// NewAAC makes an AAC-LC encoder at 44.1 or 48 kHz (go-aac's rates), mono
// or stereo, 8 to 512 kbit/s.
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
		// The unit returned with input frame k is unit k-1 (one call
		// late), and the decoded stream carries Delay() samples of
		// priming before input sample 0, so unit k-1 starts at input
		// sample (k-1)*1024 - Delay(): 1024 + Delay() samples before
		// frame k.
		early: int64(aac.FrameSize + enc.Delay()),
	}
	for c := range a.planes {
		a.planes[c] = make([]float32, aac.FrameSize)
	}
	return a, nil
}

// Params implements AudioEncoder.
func (a *AAC) Params() media.AudioParams { return a.params }

// Encode implements AudioEncoder. Blocks may have any length; a unit comes
// out for every 1024 samples per channel.
func (a *AAC) Encode(b *media.AudioBlock) ([]*media.AccessUnit, error) {
	if a.closed {
		return nil, media.Errorf(media.CodeEncoderFailed, "AAC encoder is closed")
	}
	if err := a.fr.check(b); err != nil {
		return nil, err
	}
	a.out = a.out[:0]
	err := a.fr.push(b, func(pcm []int16, first int64) error {
		ch := len(a.planes)
		for c, plane := range a.planes {
			for i := range plane {
				plane[i] = float32(pcm[i*ch+c]) / 32768
			}
		}
		frame, err := a.enc.EncodeFrame(nil, a.planes)
		if err != nil {
			return media.Errorf(media.CodeEncoderFailed, "AAC: %w", err)
		}
		if len(frame) == 0 {
			return nil // the first call primes; its unit comes with the next
		}
		a.out = append(a.out, newAudioUnit(media.CodecAAC, a.fr.pts(first-a.early), frame))
		return nil
	})
	if err != nil || len(a.out) == 0 {
		return nil, err
	}
	return append([]*media.AccessUnit(nil), a.out...), nil
}

// Close implements AudioEncoder. The frame still inside the encoder is
// dropped: the interface has no way to return it, and 21 ms at the end of a
// stream is not worth one.
func (a *AAC) Close() error {
	a.closed = true
	return nil
}

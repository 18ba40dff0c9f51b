package encode

import (
	"time"

	"github.com/tphakala/go-opus/opus"

	"github.com/glassagent/glassagent/media"
)

// opusFrame is 20 ms at 48 kHz: WebRTC's usual packet time.
const opusFrame = 960

// Opus encodes Opus in pure Go (tphakala/go-opus) for WHIP.
type Opus struct {
	enc    *opus.Encoder
	fr     *framer
	params media.AudioParams
	buf    []byte
	out    []*media.AccessUnit
	skip   time.Duration
}

// NewOpus makes a 48 kHz Opus encoder with 20 ms frames.
func NewOpus(cfg AudioConfig) (*Opus, error) {
	if err := cfg.validate(48000); err != nil {
		return nil, err
	}
	enc, err := opus.NewEncoder(opus.EncoderConfig{SampleRate: cfg.SampleRate, Channels: cfg.Channels, Bitrate: cfg.Bitrate, Complexity: 5})
	if err != nil {
		return nil, media.Errorf(media.CodeEncoderFailed, "Opus encoder: %w", err)
	}
	return &Opus{
		enc: enc,
		fr:  newFramer(media.AudioFormat{SampleRate: cfg.SampleRate, Channels: cfg.Channels}, opusFrame),
		params: media.AudioParams{
			Codec: media.CodecOpus, SampleRate: cfg.SampleRate, Channels: cfg.Channels,
			Bitrate: cfg.Bitrate, FrameSamples: opusFrame,
		},
		buf: make([]byte, 1276),
		// Opus' lookahead (pre-skip) delays the decoded sound; stamping
		// packets that much earlier keeps lip sync.
		skip: time.Duration(enc.PreSkip()) * time.Second / 48000,
	}, nil
}

// Params implements AudioEncoder.
func (o *Opus) Params() media.AudioParams { return o.params }

// Encode implements AudioEncoder.
func (o *Opus) Encode(b *media.AudioBlock) ([]*media.AccessUnit, error) {
	if err := o.fr.check(b); err != nil {
		return nil, err
	}
	o.out = o.out[:0]
	err := o.fr.push(b, func(pcm []int16, pts time.Duration) error {
		n, err := o.enc.Encode(pcm, o.buf)
		if err != nil {
			return media.Errorf(media.CodeEncoderFailed, "Opus: %w", err)
		}
		pkt := append([]byte(nil), o.buf[:n]...)
		t := pts - o.skip
		o.out = append(o.out, &media.AccessUnit{Codec: media.CodecOpus, PTS: t, DTS: t, Key: true, NALUs: [][]byte{pkt}})
		return nil
	})
	if err != nil || len(o.out) == 0 {
		return nil, err
	}
	return append([]*media.AccessUnit(nil), o.out...), nil
}

// Close implements AudioEncoder.
func (o *Opus) Close() error { return nil }

package encode

import (
	"github.com/tphakala/go-opus/opus"

	"github.com/glassagent/glassagent/media"
)

// opusFrame is 20 ms at 48 kHz: WebRTC's usual packet time.
const opusFrame = 960

// opusMaxPacket is the largest Opus packet (RFC 6716, 3.4: 1275 bytes of
// frame data plus the TOC byte).
const opusMaxPacket = 1276

// Opus encodes Opus in pure Go (tphakala/go-opus, CELT only) for WHIP.
//
// Timestamps: one packet per 960 input samples, stamped from the sample
// count less the encoder's lookahead (pre-skip, 6.5 ms at 48 kHz). A WebRTC
// receiver plays packets at their RTP time and has no pre-skip field, so
// stamping them that much earlier keeps lip sync to the sample; the first
// packet is therefore stamped 6.5 ms before the first block's PTS.
type Opus struct {
	enc    *opus.Encoder
	fr     *framer
	params media.AudioParams
	buf    []byte // one packet, reused; units get a copy of what was written
	out    []*media.AccessUnit
	skip   int64 // pre-skip in samples
	closed bool
}

// NewOpus makes a 48 kHz Opus encoder, mono or stereo, with 20 ms frames.
func NewOpus(cfg AudioConfig) (*Opus, error) {
	if err := cfg.validate(48000); err != nil {
		return nil, err
	}
	// Complexity 5 rather than the library's default 10: less CPU for a
	// loss that speech from a glasses microphone does not show.
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
		buf:  make([]byte, opusMaxPacket),
		skip: int64(enc.PreSkip()), // in 48 kHz samples, our only rate
	}, nil
}

// Params implements AudioEncoder.
func (o *Opus) Params() media.AudioParams { return o.params }

// Encode implements AudioEncoder. Blocks may have any length; a packet
// comes out for every 960 samples per channel.
func (o *Opus) Encode(b *media.AudioBlock) ([]*media.AccessUnit, error) {
	if o.closed {
		return nil, media.Errorf(media.CodeEncoderFailed, "Opus encoder is closed")
	}
	if err := o.fr.check(b); err != nil {
		return nil, err
	}
	o.out = o.out[:0]
	err := o.fr.push(b, func(pcm []int16, first int64) error {
		n, err := o.enc.Encode(pcm, o.buf)
		if err != nil {
			return media.Errorf(media.CodeEncoderFailed, "Opus: %w", err)
		}
		pkt := append([]byte(nil), o.buf[:n]...)
		o.out = append(o.out, newAudioUnit(media.CodecOpus, o.fr.pts(first-o.skip), pkt))
		return nil
	})
	if err != nil || len(o.out) == 0 {
		return nil, err
	}
	return append([]*media.AccessUnit(nil), o.out...), nil
}

// Close implements AudioEncoder. Opus holds no whole frame back; a partial
// frame in the framer is dropped.
func (o *Opus) Close() error {
	o.closed = true
	return nil
}

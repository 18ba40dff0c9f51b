package encode

import (
	"time"

	"github.com/glassagent/glassagent/media"
)

// framer cuts PCM blocks of any size into the fixed frames an audio codec
// takes (1024 samples for AAC, 960 for 20 ms of Opus), keeping the PTS of
// each frame from the sample count so it never drifts.
type framer struct {
	format  media.AudioFormat
	size    int     // samples per channel in a frame
	buf     []int16 // one frame, interleaved
	n       int     // samples per channel buffered
	started bool
	base    time.Duration // PTS of sample 0
	count   int64         // samples per channel emitted so far
}

func newFramer(f media.AudioFormat, size int) *framer {
	return &framer{format: f, size: size, buf: make([]int16, size*f.Channels)}
}

// check rejects a block of the wrong format or with a torn sample frame.
func (fr *framer) check(b *media.AudioBlock) error {
	if b == nil {
		return media.Errorf(media.CodeEncoderFailed, "nil audio block")
	}
	if b.Format != fr.format {
		return media.Errorf(media.CodeEncoderFailed, "audio block is %d Hz x%d, encoder takes %d Hz x%d",
			b.Format.SampleRate, b.Format.Channels, fr.format.SampleRate, fr.format.Channels)
	}
	if len(b.Samples)%fr.format.Channels != 0 {
		// A torn frame would shift every later sample into the wrong channel.
		return media.Errorf(media.CodeEncoderFailed, "audio block has %d samples, not a whole number of %d-channel frames", len(b.Samples), fr.format.Channels)
	}
	return nil
}

// push feeds a block and calls emit for each completed frame with the
// frame's interleaved samples and the index of its first sample (per
// channel, counted from the first block). The slice is reused after emit.
func (fr *framer) push(b *media.AudioBlock, emit func(pcm []int16, first int64) error) error {
	if !fr.started {
		fr.started = true
		fr.base = b.PTS
	}
	ch := fr.format.Channels
	s := b.Samples
	for len(s) > 0 {
		n := copy(fr.buf[fr.n*ch:], s)
		s = s[n:]
		fr.n += n / ch
		if fr.n == fr.size {
			fr.n = 0
			first := fr.count
			fr.count += int64(fr.size)
			if err := emit(fr.buf, first); err != nil {
				return err
			}
		}
	}
	return nil
}

// pts converts a sample index (which may be negative) to the pipeline
// clock, from the first block's PTS, rounding the same way every time so
// steps never drift.
func (fr *framer) pts(sample int64) time.Duration {
	return fr.base + time.Duration(sample*int64(time.Second)/int64(fr.format.SampleRate))
}

// audioUnit is an access unit and its one-element NALU list in one
// allocation: audio makes 50 of them a second.
type audioUnit struct {
	au    media.AccessUnit
	nalus [1][]byte
}

// newAudioUnit wraps one encoded audio frame. Audio frames are all key.
func newAudioUnit(c media.Codec, pts time.Duration, payload []byte) *media.AccessUnit {
	u := &audioUnit{}
	u.nalus[0] = payload
	u.au = media.AccessUnit{Codec: c, PTS: pts, DTS: pts, Key: true, NALUs: u.nalus[:]}
	return &u.au
}

// validate checks an audio configuration.
func (c AudioConfig) validate(rates ...int) error {
	ok := false
	for _, r := range rates {
		ok = ok || r == c.SampleRate
	}
	switch {
	case !ok:
		return media.Errorf(media.CodeInvalidConfig, "audio sample rate %d: must be one of %v", c.SampleRate, rates)
	case c.Channels != 1 && c.Channels != 2:
		return media.Errorf(media.CodeInvalidConfig, "audio channels %d: must be 1 or 2", c.Channels)
	case c.Bitrate < 8000 || c.Bitrate > 512_000:
		return media.Errorf(media.CodeInvalidConfig, "audio bitrate %d bit/s: must be 8000 to 512000", c.Bitrate)
	}
	return nil
}

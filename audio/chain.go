package audio

import (
	"fmt"
	"time"

	"github.com/glassagent/glassagent/media"
)

// Chain is the front-end between a microphone and an encoder. For now it
// resamples and converts channels; it reports the stages it runs.
type Chain struct {
	in, out media.AudioFormat
	rs      *Resampler // nil when the formats already match
	block   media.AudioBlock
	emitted int64 // output frames so far
	start   time.Duration
	started bool
}

// NewChain makes a chain from the microphone's format to the encoder's.
func NewChain(in, out media.AudioFormat) (*Chain, error) {
	c := &Chain{in: in, out: out}
	c.block.Format = out
	if in != out {
		rs, err := NewResampler(in.SampleRate, in.Channels, out.SampleRate, out.Channels)
		if err != nil {
			return nil, media.Errorf(media.CodeInvalidConfig, "audio front-end: %v", err)
		}
		c.rs = rs
	}
	return c, nil
}

// Stages names what the chain does, for status reports.
func (c *Chain) Stages() []string {
	if c.rs == nil {
		return nil
	}
	return []string{fmt.Sprintf("resample %d Hz x%d -> %d Hz x%d", c.in.SampleRate, c.in.Channels, c.out.SampleRate, c.out.Channels)}
}

// Process converts one block; the result is valid until the next call. Its
// PTS comes from the output sample count since the first block, so it stays
// on the sample clock across the rate change.
func (c *Chain) Process(b *media.AudioBlock) *media.AudioBlock {
	if c.rs == nil {
		return b
	}
	if !c.started {
		c.started, c.start = true, b.PTS
	}
	c.block.Samples = c.rs.Process(b.Samples)
	c.block.PTS = c.start + time.Duration(c.emitted*int64(time.Second)/int64(c.out.SampleRate))
	c.emitted += int64(len(c.block.Samples) / c.out.Channels)
	return &c.block
}

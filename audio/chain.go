package audio

import (
	"fmt"
	"math"
	"sync"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/glassagent/glassagent/media"
)

// Config picks the stages of a chain. Zero OutRate or OutChannels keep the
// input's.
type Config struct {
	HighPass         bool
	NoiseSuppression bool
	EchoCancellation bool
	OutRate          int
	OutChannels      int
	// EchoTail is how much delay plus room reverberation the echo canceller
	// covers; zero means DefaultEchoTail.
	EchoTail time.Duration
}

// DefaultEchoTail covers up to about 200 ms between the playback timestamps
// and the sound reaching the microphone, plus 100 ms of reverberation.
const DefaultEchoTail = 320 * time.Millisecond

// Stats is what the stages did, for status reports and the offline tool.
type Stats struct {
	Stages []string
	// NoiseFloorDBFS is the noise suppressor's current noise estimate
	// (first channel) as the level of white noise of the same power.
	NoiseFloorDBFS float64
	// EchoDelay is where the echo canceller found the echo path's peak,
	// relative to the reference's timestamps; EchoDelayFound is false
	// until it has learnt anything.
	EchoDelay      time.Duration
	EchoDelayFound bool
	// ERLE is the echo return loss enhancement (dB) while the far end
	// plays, with the residual echo suppressor (and the noise suppressor,
	// which shares its stage, when that is on); LinearERLE is the adaptive
	// filter's share.
	ERLE, LinearERLE float64
	// Dropped counts blocks refused for not having the chain's input format.
	Dropped int
}

// Chain is the front-end between a microphone and an encoder: high-pass,
// echo cancellation, noise suppression, then resampling and channel
// conversion, each optional. Not safe for concurrent Process calls; Stats
// and Reference().Feed may be called from other goroutines.
type Chain struct {
	in, out media.AudioFormat
	cfg     Config
	hop     int // samples per channel per 10 ms at the input rate

	hp   *highPass
	aec  []*echoCanceller // per channel
	post []*postFilter    // per channel: noise and residual echo suppression
	ref  *Reference
	rs   *Resampler

	planar  [][]float32 // per channel: the block being processed
	fifo    [][]float32 // per channel: input waiting for a whole hop
	fifoIdx int64       // absolute input sample index of fifo[.][0]
	fifoSet bool
	refHop  []float32
	pend    []int16 // processed, interleaved, at the input rate
	block   media.AudioBlock
	emitted int64
	start   time.Duration
	started bool

	mu    sync.Mutex // guards stats
	stats Stats
}

// NewChain makes a chain that only converts the microphone's format to the
// encoder's (resampling and channel conversion).
func NewChain(in, out media.AudioFormat) (*Chain, error) {
	return New(in, Config{OutRate: out.SampleRate, OutChannels: out.Channels})
}

// New makes a chain for microphone format in. Anything it cannot honour is
// an error with media.CodeInvalidConfig, never silently ignored.
func New(in media.AudioFormat, cfg Config) (*Chain, error) {
	bad := func(format string, a ...any) (*Chain, error) {
		return nil, media.Errorf(media.CodeInvalidConfig, "audio front-end: "+format, a...)
	}
	if in.SampleRate < 8000 || in.SampleRate > 192000 {
		return bad("input rate %d Hz: must be 8000 to 192000", in.SampleRate)
	}
	if in.Channels != 1 && in.Channels != 2 {
		return bad("input channels %d: must be 1 or 2", in.Channels)
	}
	out := media.AudioFormat{SampleRate: cfg.OutRate, Channels: cfg.OutChannels}
	if out.SampleRate == 0 {
		out.SampleRate = in.SampleRate
	}
	if out.Channels == 0 {
		out.Channels = in.Channels
	}
	c := &Chain{in: in, out: out, cfg: cfg, hop: in.SampleRate / 100}
	if (cfg.NoiseSuppression || cfg.EchoCancellation) && in.SampleRate%100 != 0 {
		return bad("noise suppression and echo cancellation need a rate in whole samples per 10 ms, not %d Hz", in.SampleRate)
	}
	if cfg.EchoTail < 0 || cfg.EchoTail > 2*time.Second {
		return bad("echo tail %v: must be up to 2s", cfg.EchoTail)
	}
	if out != in {
		rs, err := NewResampler(in.SampleRate, in.Channels, out.SampleRate, out.Channels)
		if err != nil {
			return bad("%v", err)
		}
		c.rs = rs
	}
	if cfg.HighPass {
		c.hp = newHighPass(in.SampleRate, in.Channels, HighPassCutoff)
	}
	if cfg.NoiseSuppression || cfg.EchoCancellation {
		// One FFT plan for every spectral stage: they all work on frames of
		// two hops, one after the other.
		fft := fourier.NewFFT(2 * c.hop)
		if cfg.EchoCancellation {
			tail := cfg.EchoTail
			if tail == 0 {
				tail = DefaultEchoTail
			}
			parts := max(int((tail+9*time.Millisecond)/(10*time.Millisecond)), 1)
			c.ref = newReference(in.SampleRate, 2*time.Second)
			c.refHop = make([]float32, c.hop)
			for ch := 0; ch < in.Channels; ch++ {
				c.aec = append(c.aec, newEchoCanceller(c.hop, parts, fft))
			}
		}
		for ch := 0; ch < in.Channels; ch++ {
			var a *echoCanceller
			if c.aec != nil {
				a = c.aec[ch]
			}
			c.post = append(c.post, newPostFilter(c.hop, in.SampleRate, fft, cfg.NoiseSuppression, a))
		}
	}
	c.planar = make([][]float32, in.Channels)
	c.fifo = make([][]float32, in.Channels)
	for ch := range c.fifo {
		c.fifo[ch] = make([]float32, 0, 4*c.hop)
	}
	c.block.Format = out
	c.stats.Stages = c.stageNames()
	return c, nil
}

func (c *Chain) stageNames() []string {
	var s []string
	if c.hp != nil {
		s = append(s, fmt.Sprintf("highpass %.0f Hz", HighPassCutoff))
	}
	if c.aec != nil {
		s = append(s, fmt.Sprintf("echo cancellation (%d ms tail)", c.aec[0].parts*10))
	}
	if c.cfg.NoiseSuppression {
		s = append(s, "noise suppression")
	}
	if c.rs != nil {
		s = append(s, fmt.Sprintf("resample %d Hz x%d -> %d Hz x%d", c.in.SampleRate, c.in.Channels, c.out.SampleRate, c.out.Channels))
	}
	return s
}

// Stages names what the chain does, for status reports; nil when it passes
// blocks through untouched.
func (c *Chain) Stages() []string { return c.stats.Stages }

// Format returns the chain's output format.
func (c *Chain) Format() media.AudioFormat { return c.out }

// Reference is the echo canceller's far-end feed, nil without echo
// cancellation.
func (c *Chain) Reference() *Reference { return c.ref }

// FeedReference hands the echo canceller a block the speaker plays from
// b.PTS on. Without echo cancellation it is an error.
func (c *Chain) FeedReference(b *media.AudioBlock) error {
	if c.ref == nil {
		return media.Errorf(media.CodeInvalidConfig, "audio front-end: echo cancellation is off")
	}
	return c.ref.Feed(b)
}

// Latency is how much later a sample leaves than it came in: one hop for
// the spectral suppressor's overlap-add (noise and residual echo share it;
// the echo canceller's linear filter adds none), plus the resampler's
// filter, plus up to a hop of buffering when blocks are not whole hops.
func (c *Chain) Latency() time.Duration {
	var d time.Duration
	if c.post != nil {
		d += 10 * time.Millisecond
	}
	if c.rs != nil {
		d += time.Duration(c.rs.Delay() / float64(c.out.SampleRate) * float64(time.Second))
	}
	return d
}

// Stats returns what the stages did so far.
func (c *Chain) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Stages = append([]string(nil), s.Stages...)
	return s
}

// Process runs one block through the chain; the result is valid until the
// next call. Its PTS comes from the output sample count since the first
// block, so it stays on the sample clock across a rate change. A block in
// another format than the chain's input is dropped (and counted in Stats).
func (c *Chain) Process(b *media.AudioBlock) *media.AudioBlock {
	if c.stats.Stages == nil {
		return b
	}
	if b.Format != c.in {
		c.mu.Lock()
		c.stats.Dropped++
		c.mu.Unlock()
		c.block.Samples = c.block.Samples[:0]
		c.block.PTS = c.start + time.Duration(c.emitted*int64(time.Second)/int64(c.out.SampleRate))
		return &c.block
	}
	if !c.started {
		c.started, c.start = true, b.PTS
	}
	frames := b.Frames()
	nch := c.in.Channels
	for ch := range c.planar {
		if cap(c.planar[ch]) < frames {
			c.planar[ch] = make([]float32, frames)
		}
		p := c.planar[ch][:frames]
		for i := range p {
			p[i] = float32(b.Samples[i*nch+ch])
		}
		if c.hp != nil {
			c.hp.process(ch, p)
		}
		c.planar[ch] = p
	}
	c.pend = c.pend[:0]
	if c.post == nil {
		c.pend = appendInterleaved(c.pend, c.planar, frames)
	} else {
		c.frameStages(b, frames)
	}
	out := c.pend
	if c.rs != nil {
		out = c.rs.Process(c.pend)
	}
	c.block.Samples = out
	c.block.PTS = c.start + time.Duration(c.emitted*int64(time.Second)/int64(c.out.SampleRate))
	c.emitted += int64(len(out) / c.out.Channels)
	return &c.block
}

// frameStages runs echo cancellation and noise suppression on every whole
// 10 ms hop now available.
func (c *Chain) frameStages(b *media.AudioBlock, frames int) {
	// The input's absolute sample index pairs it with the reference. Follow
	// the sample count, resyncing on a jump of more than 20 ms (lost input).
	idx := int64(math.Round(b.PTS.Seconds()*float64(c.in.SampleRate))) - int64(len(c.fifo[0]))
	if !c.fifoSet || idx-c.fifoIdx > int64(2*c.hop) || c.fifoIdx-idx > int64(2*c.hop) {
		c.fifoIdx, c.fifoSet = idx, true
	}
	for ch := range c.fifo {
		c.fifo[ch] = append(c.fifo[ch], c.planar[ch]...)
	}
	for len(c.fifo[0]) >= c.hop {
		if c.ref != nil {
			c.ref.read(c.fifoIdx, c.refHop)
		}
		for ch := range c.fifo {
			hop := c.fifo[ch][:c.hop]
			if c.aec != nil {
				c.aec[ch].process(hop, c.refHop)
			}
			c.post[ch].process(hop)
			if c.aec != nil {
				c.aec[ch].noteOutput(hop)
			}
		}
		for i := 0; i < c.hop; i++ {
			for ch := range c.fifo {
				c.pend = append(c.pend, clip(c.fifo[ch][i]))
			}
		}
		for ch := range c.fifo {
			n := copy(c.fifo[ch], c.fifo[ch][c.hop:])
			c.fifo[ch] = c.fifo[ch][:n]
		}
		c.fifoIdx += int64(c.hop)
	}
	c.updateStats()
}

func (c *Chain) updateStats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.NoiseSuppression {
		c.stats.NoiseFloorDBFS = c.post[0].noiseFloorDBFS()
	}
	if c.aec != nil {
		a := c.aec[0]
		c.stats.ERLE, c.stats.LinearERLE = a.erle()
		if a.delay >= 0 {
			c.stats.EchoDelayFound = true
			c.stats.EchoDelay = time.Duration(a.delay) * time.Second / time.Duration(c.in.SampleRate)
		}
	}
}

func appendInterleaved(dst []int16, planar [][]float32, frames int) []int16 {
	for i := 0; i < frames; i++ {
		for ch := range planar {
			dst = append(dst, clip(planar[ch][i]))
		}
	}
	return dst
}

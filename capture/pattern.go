package capture

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/glassagent/glassagent/media"
)

// PatternConfig configures the synthetic camera.
type PatternConfig struct {
	Width, Height int
	FPS           int
	Pixel         media.PixelFormat // I420 (default) or NV12
	// Buffers is how many frames may be out with the consumer at once, like
	// a driver's MMAP buffer count. Default 4.
	Buffers int
	// Noise, 0 to 64, adds fresh luma noise of up to +-Noise to the
	// background of every frame, as a camera sensor's in dim light: the
	// plain pattern is so easy to predict that a software encoder makes
	// about 0.5 Mbit/s at 720p whatever its target, and a link at a few
	// Mbit/s would never bind. With noise it spends what it is given. The
	// box and the burnt-in counter stay clean so they remain readable.
	Noise int
}

// Pattern is a synthetic camera: a colour-bar background that scrolls
// sideways, a box bouncing across it, and the frame counter and wall clock
// burnt into the picture, so a receiver can see motion, count frames and
// read latency off the image.
//
// It behaves like a device: frames come on a real clock at the configured
// rate; when the consumer falls behind, or holds every buffer, frames are
// skipped and the sequence number jumps, as a V4L2 driver's would.
type Pattern struct {
	format  media.VideoFormat
	clock   *media.Clock
	start   time.Duration
	period  time.Duration
	bg      []byte // background luma, one row repeated per line and scrolled
	bgU     []byte // background chroma per chroma column
	bgV     []byte
	noise   int    // amplitude, 0: none
	rng     uint64 // xorshift64 state for the noise
	free    chan *patternBuf
	seq     uint64
	skipped atomic.Uint64
	timer   *time.Timer
	closed  atomic.Bool
}

type patternBuf struct {
	data    []byte
	frame   media.VideoFrame
	release func() // made once so handing out a frame allocates nothing
}

// NewPattern makes a synthetic camera that starts now on clock.
func NewPattern(cfg PatternConfig, clock *media.Clock) (*Pattern, error) {
	if err := validateVideo(cfg.Width, cfg.Height, cfg.FPS); err != nil {
		return nil, err
	}
	if cfg.Pixel == media.PixelFormatUnknown {
		cfg.Pixel = media.PixelFormatI420
	}
	if cfg.Pixel != media.PixelFormatI420 && cfg.Pixel != media.PixelFormatNV12 {
		return nil, media.Errorf(media.CodeInvalidConfig, "test pattern pixel format %s not supported (I420 or NV12)", cfg.Pixel)
	}
	if cfg.Buffers <= 0 {
		cfg.Buffers = 4
	}
	if cfg.Noise < 0 || cfg.Noise > 64 {
		return nil, media.Errorf(media.CodeInvalidConfig, "test pattern noise %d: must be 0 to 64", cfg.Noise)
	}
	p := &Pattern{
		format: media.VideoFormat{Pixel: cfg.Pixel, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS},
		clock:  clock,
		start:  clock.Now(),
		period: time.Second / time.Duration(cfg.FPS),
		free:   make(chan *patternBuf, cfg.Buffers),
		noise:  cfg.Noise,
		rng:    0x9E3779B97F4A7C15,
	}
	p.makeBackground()
	w, h := cfg.Width, cfg.Height
	for i := 0; i < cfg.Buffers; i++ {
		b := &patternBuf{data: make([]byte, w*h*3/2)}
		b.release = func() { p.free <- b }
		f := &b.frame
		f.Format = p.format
		if cfg.Pixel == media.PixelFormatI420 {
			f.Planes = [][]byte{b.data[:w*h], b.data[w*h : w*h*5/4], b.data[w*h*5/4:]}
			f.Strides = []int{w, w / 2, w / 2}
		} else {
			f.Planes = [][]byte{b.data[:w*h], b.data[w*h:]}
			f.Strides = []int{w, w}
		}
		p.free <- b
	}
	return p, nil
}

// validateVideo checks a requested size and rate.
func validateVideo(w, h, fps int) error {
	switch {
	case w <= 0 || h <= 0:
		return media.Errorf(media.CodeInvalidConfig, "video size %dx%d: width and height must be positive", w, h)
	case w%2 != 0 || h%2 != 0:
		return media.Errorf(media.CodeInvalidConfig, "video size %dx%d: width and height must be even", w, h)
	case w > 4096 || h > 4096:
		return media.Errorf(media.CodeInvalidConfig, "video size %dx%d: at most 4096x4096", w, h)
	case fps < 1 || fps > 120:
		return media.Errorf(media.CodeInvalidConfig, "frame rate %d: must be 1 to 120", fps)
	}
	return nil
}

// Format implements VideoSource.
func (p *Pattern) Format() media.VideoFormat { return p.format }

// Skipped returns how many frames were skipped because the consumer was late
// or held every buffer.
func (p *Pattern) Skipped() uint64 { return p.skipped.Load() }

// Read implements VideoSource.
func (p *Pattern) Read(ctx context.Context) (*media.VideoFrame, error) {
	for {
		if p.closed.Load() {
			return nil, fmt.Errorf("test pattern: %w", ErrClosed)
		}
		// A consumer that is always late (a loaded CPU) never waits on the
		// timer below, so the context must be checked here or a cancelled
		// pipeline would keep reading forever.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		due := p.start + time.Duration(p.seq)*p.period
		if wait := due - p.clock.Now(); wait > 0 {
			if p.timer == nil {
				p.timer = time.NewTimer(wait)
			} else {
				p.timer.Reset(wait)
			}
			select {
			case <-ctx.Done():
				if !p.timer.Stop() {
					<-p.timer.C
				}
				return nil, ctx.Err()
			case <-p.timer.C:
			}
		} else if late := -wait; late >= p.period {
			// The consumer is a frame or more behind: skip to the frame
			// that is due now, as a device would have overwritten them.
			n := uint64(late / p.period)
			p.seq += n
			p.skipped.Add(n)
			continue
		}
		seq := p.seq
		p.seq++
		var b *patternBuf
		select {
		case b = <-p.free:
		default:
			p.skipped.Add(1) // every buffer is out: this frame is lost
			continue
		}
		f := &b.frame
		f.PTS = due
		f.Captured = p.clock.Wall(due)
		f.Seq = seq
		p.draw(f, seq)
		f.SetRelease(b.release)
		return f, nil
	}
}

// Close implements VideoSource.
func (p *Pattern) Close() error {
	p.closed.Store(true)
	return nil
}

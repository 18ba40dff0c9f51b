package capture

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/glassagent/glassagent/media"
)

// ToneConfig configures the synthetic microphone.
type ToneConfig struct {
	SampleRate int     // default 48000
	Channels   int     // 1 or 2, default 1
	Freq       float64 // Hz, default 440; 0 with Silent for silence
	// Amplitude in 0..1 of full scale, default 0.25 (-12 dBFS).
	Amplitude float64
	// Silent makes a silent microphone: what the pipeline feeds the audio
	// encoder when the mic is off, since platforms reject video-only
	// streams.
	Silent bool
	// Block is the duration of one Read, default 10 ms (a typical ALSA
	// period).
	Block time.Duration
	// Recording, when set, is played in a loop instead of the tone:
	// interleaved samples of Channels channels at SampleRate (a WAV file
	// read by the caller). Tests and demos use it to stream speech and
	// noise as if a person spoke into the microphone.
	Recording []int16
}

// Tone is a synthetic microphone producing a sine tone, paced on a real clock
// like a device: Read blocks until a period's worth of samples is due. PTS
// comes from the sample count, so it never drifts from the sample rate.
type Tone struct {
	format  media.AudioFormat
	clock   *media.Clock
	start   time.Duration
	frames  int // frames per block
	sent    int64
	block   media.AudioBlock
	table   []int16 // one period of the tone per channel-frame, interleaved
	phase   int
	timer   *time.Timer
	closed  atomic.Bool
	silent  bool
	overrun atomic.Uint64
}

// NewTone makes a synthetic microphone that starts now on clock.
func NewTone(cfg ToneConfig, clock *media.Clock) (*Tone, error) {
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 48000
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Freq == 0 && !cfg.Silent && cfg.Recording == nil {
		cfg.Freq = 440
	}
	if cfg.Amplitude == 0 {
		cfg.Amplitude = 0.25
	}
	if cfg.Block == 0 {
		cfg.Block = 10 * time.Millisecond
	}
	switch {
	case cfg.SampleRate < 8000 || cfg.SampleRate > 192000:
		return nil, media.Errorf(media.CodeInvalidConfig, "sample rate %d: must be 8000 to 192000", cfg.SampleRate)
	case cfg.Channels != 1 && cfg.Channels != 2:
		return nil, media.Errorf(media.CodeInvalidConfig, "channels %d: must be 1 or 2", cfg.Channels)
	case cfg.Freq < 0 || cfg.Freq >= float64(cfg.SampleRate)/2:
		return nil, media.Errorf(media.CodeInvalidConfig, "tone %g Hz: must be below half the sample rate", cfg.Freq)
	case cfg.Amplitude < 0 || cfg.Amplitude > 1:
		return nil, media.Errorf(media.CodeInvalidConfig, "amplitude %g: must be 0 to 1", cfg.Amplitude)
	case cfg.Block < time.Millisecond || cfg.Block > time.Second:
		return nil, media.Errorf(media.CodeInvalidConfig, "block %v: must be 1 ms to 1 s", cfg.Block)
	case cfg.Recording != nil && (len(cfg.Recording) == 0 || len(cfg.Recording)%cfg.Channels != 0):
		return nil, media.Errorf(media.CodeInvalidConfig, "recording of %d samples: need whole frames of %d channels", len(cfg.Recording), cfg.Channels)
	}
	t := &Tone{
		format: media.AudioFormat{SampleRate: cfg.SampleRate, Channels: cfg.Channels},
		clock:  clock,
		start:  clock.Now(),
		frames: int(int64(cfg.SampleRate) * int64(cfg.Block) / int64(time.Second)),
		silent: cfg.Silent,
	}
	t.block.Format = t.format
	t.block.Samples = make([]int16, t.frames*cfg.Channels)
	switch {
	case cfg.Recording != nil:
		t.table = cfg.Recording
	case !cfg.Silent:
		// A table of a whole number of periods that spans a whole number of
		// samples (one second at most) keeps the tone phase-continuous
		// without per-sample math.Sin.
		n := cfg.SampleRate
		if g := gcdInt(cfg.SampleRate, int(cfg.Freq)); cfg.Freq == math.Trunc(cfg.Freq) && g > 0 {
			n = cfg.SampleRate / g
		}
		t.table = make([]int16, n*cfg.Channels)
		for i := 0; i < n; i++ {
			v := int16(math.Round(cfg.Amplitude * 32767 * math.Sin(2*math.Pi*cfg.Freq*float64(i)/float64(cfg.SampleRate))))
			for c := 0; c < cfg.Channels; c++ {
				t.table[i*cfg.Channels+c] = v
			}
		}
	}
	return t, nil
}

func gcdInt(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Format implements AudioSource.
func (t *Tone) Format() media.AudioFormat { return t.format }

// Overruns counts blocks dropped because the consumer was too slow (more
// than a second behind), as an ALSA overrun would.
func (t *Tone) Overruns() uint64 { return t.overrun.Load() }

// Read implements AudioSource.
func (t *Tone) Read(ctx context.Context) (*media.AudioBlock, error) {
	if t.closed.Load() {
		return nil, fmt.Errorf("tone: %w", ErrClosed)
	}
	// Checked before the due time: a late consumer never waits, and a
	// cancelled read must end whatever the clock says.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rate := int64(t.format.SampleRate)
	// The block is due when its last sample has been "recorded".
	due := t.start + time.Duration((t.sent+int64(t.frames))*int64(time.Second)/rate)
	now := t.clock.Now()
	if wait := due - now; wait > 0 {
		if t.timer == nil {
			t.timer = time.NewTimer(wait)
		} else {
			t.timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			if !t.timer.Stop() {
				<-t.timer.C
			}
			return nil, ctx.Err()
		case <-t.timer.C:
		}
	} else if -wait > time.Second {
		// A device's ring buffer would have overrun: skip ahead, keeping
		// the sample clock (PTS stays true to when sound was recorded).
		skip := (int64(-wait) * rate / int64(time.Second)) / int64(t.frames) * int64(t.frames)
		t.sent += skip
		t.overrun.Add(uint64(skip) / uint64(t.frames))
	}
	t.block.PTS = t.start + time.Duration(t.sent*int64(time.Second)/rate)
	if t.table != nil {
		s := t.block.Samples
		for len(s) > 0 {
			n := copy(s, t.table[t.phase:])
			s = s[n:]
			t.phase = (t.phase + n) % len(t.table)
		}
	}
	t.sent += int64(t.frames)
	return &t.block, nil
}

// Close implements AudioSource.
func (t *Tone) Close() error {
	t.closed.Store(true)
	return nil
}

package audio

import (
	"math"
	"sync"
	"time"

	"github.com/glassagent/glassagent/media"
)

// Reference holds what the speaker plays, on the pipeline clock, for the
// echo canceller. The playback path calls Feed from its own goroutine with
// the PTS at which each block reaches the speaker (from the ALSA playback
// position); the capture path reads it for the same instants.
type Reference struct {
	mu         sync.Mutex
	rate       int
	buf        []float32 // ring, mono at the chain's processing rate
	begin, end int64     // valid absolute sample indices [begin, end)
	fed        bool
	rs         *Resampler
	rsFmt      media.AudioFormat
	delay      int64 // the resampler's delay, in samples
}

func newReference(rate int, span time.Duration) *Reference {
	return &Reference{rate: rate, buf: make([]float32, int(span.Seconds()*float64(rate)))}
}

// Feed adds a block that the speaker plays from b.PTS on. Blocks of any rate
// and channel count are converted; blocks that continue the previous one
// within 2 ms are joined to it so timestamp jitter does not tear the signal.
func (r *Reference) Feed(b *media.AudioBlock) error {
	if b.Format.Channels < 1 || b.Format.Channels > 2 {
		return media.Errorf(media.CodeInvalidConfig, "echo reference: %d channels", b.Format.Channels)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	samples := b.Samples
	if b.Format.SampleRate != r.rate || b.Format.Channels != 1 {
		if r.rs == nil || r.rsFmt != b.Format {
			rs, err := NewResampler(b.Format.SampleRate, b.Format.Channels, r.rate, 1)
			if err != nil {
				return media.Errorf(media.CodeInvalidConfig, "echo reference: %v", err)
			}
			r.rs, r.rsFmt, r.delay = rs, b.Format, int64(math.Round(rs.Delay()))
		}
		samples = r.rs.Process(samples)
	} else {
		r.delay = 0
	}
	idx := int64(math.Round(b.PTS.Seconds()*float64(r.rate))) - r.delay
	switch {
	case !r.fed:
		r.fed, r.begin, r.end = true, idx, idx
	case idx >= r.end-int64(r.rate/500) && idx <= r.end+int64(r.rate/500):
		idx = r.end
	case idx > r.end: // a pause in playback: silence in between
		for i := max(r.end, idx-int64(len(r.buf))); i < idx; i++ {
			r.buf[ringPos(i, int64(len(r.buf)))] = 0
		}
	default: // the clock went back: start over from there
		r.begin = idx
	}
	n := int64(len(r.buf))
	for i, s := range samples {
		r.buf[ringPos(idx+int64(i), n)] = float32(s)
	}
	r.end = idx + int64(len(samples))
	r.begin = max(r.begin, r.end-n)
	return nil
}

// read copies the reference for absolute samples [start, start+len(dst));
// what was never fed is silence.
func (r *Reference) read(start int64, dst []float32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(dst)
	if !r.fed {
		return
	}
	// The fed part of [start, start+len(dst)), copied in at most two runs
	// of the ring.
	lo, hi := max(start, r.begin), min(start+int64(len(dst)), r.end)
	n := int64(len(r.buf))
	for lo < hi {
		p := ringPos(lo, n)
		m := copy(dst[lo-start:hi-start], r.buf[p:min(n, p+hi-lo)])
		lo += int64(m)
	}
}

// ringPos maps an absolute sample index, possibly negative (the stream's
// first samples less a resampler's delay), to a ring slot.
func ringPos(a, n int64) int64 { return (a%n + n) % n }

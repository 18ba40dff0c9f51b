// Package sounds makes the start and stop cues and plays them on the
// glasses' speaker, so the wearer (and people around) hear when the camera
// starts and stops streaming.
//
// The cues are synthesized here rather than shipped as recordings: two
// short chimes, rising for start and falling for stop, with smooth edges so
// the small speaker does not click.
package sounds

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/media"
)

// Format is what the cues are made in.
var Format = media.AudioFormat{SampleRate: 48000, Channels: 1}

// Cue returns a cue's samples: start rises (660 then 880 Hz), stop falls
// (880 then 660 Hz), 120 ms a note with a 10 ms fade in and out.
func Cue(start bool) []int16 {
	notes := []float64{660, 880}
	if !start {
		notes = []float64{880, 660}
	}
	const noteMs, fadeMs = 120, 10
	n := Format.SampleRate * noteMs / 1000
	fade := Format.SampleRate * fadeMs / 1000
	out := make([]int16, 0, n*len(notes))
	for _, hz := range notes {
		for i := 0; i < n; i++ {
			g := 1.0
			if i < fade {
				g = float64(i) / float64(fade)
			} else if i > n-fade {
				g = float64(n-i) / float64(fade)
			}
			out = append(out, int16(0.3*32767*g*math.Sin(2*math.Pi*hz*float64(i)/float64(Format.SampleRate))))
		}
	}
	return out
}

// Output is where cues are played (an ALSA playback device).
type Output interface {
	Write(samples []int16) error
	Drain() error
	Close() error
}

// TimedOutput is an Output that can say when what it plays is heard, by
// the device's own account (capture.ALSAPlayback). The echo canceller needs
// that instant to well under a millisecond, and when a write begins is not
// it: the buffer, the start threshold and the period boundaries put
// sample 0 out a varying time later.
type TimedOutput interface {
	Output
	// WriteHeard is Write, calling heard once with the instant
	// samples[mark] reaches the speaker, before it does if samples are
	// longer than the device's buffer and mark a few periods in.
	WriteHeard(samples []int16, mark int, heard func(at time.Time)) error
}

// LeadIn is the silence played before a cue on a TimedOutput, so that the
// device has reported its position a few times (at its period interrupts,
// 10 ms with our periods; the earliest report is the best) before the cue
// is heard, and the echo canceller has the reference in time. Not
// noticeable as a delay.
const LeadIn = 60 * time.Millisecond

// Player plays cues asynchronously on a device opened for each cue (so the
// speaker is free between cues for anything else the glasses play). It
// never blocks the caller: a cue that cannot play is reported to OnError
// and dropped. Close waits for a cue still playing.
type Player struct {
	open    func() (Output, error)
	OnError func(error)
	// OnPlay, if set, hears every cue before it is heard, with the instant
	// its first sample reaches the speaker: the echo canceller's far-end
	// reference. On a TimedOutput the instant is the device's (the time it
	// stamps its position with, carrying a monotonic reading), on any
	// other output the moment the cue is written. Called from the cue's
	// goroutine; set it before the first cue plays.
	OnPlay func(samples []int16, f media.AudioFormat, at time.Time)
	mu     sync.Mutex
	busy   bool
	wg     sync.WaitGroup
}

// NewPlayer plays on the ALSA device named "hw:CARD,DEV", "default" (the
// first playback device) or "none" (nil: no cues).
func NewPlayer(device string) (*Player, error) {
	if device == "none" || device == "" {
		return nil, nil
	}
	card, dev := -1, -1
	if device == "default" {
		for _, d := range capture.SoundDevices() {
			if !d.Capture {
				card, dev = d.Card, d.Device
				break
			}
		}
		if card < 0 {
			return nil, nil // no speaker on this device: nothing to play on
		}
	} else if _, err := fmt.Sscanf(strings.TrimPrefix(device, "hw:"), "%d,%d", &card, &dev); err != nil || !strings.HasPrefix(device, "hw:") {
		return nil, fmt.Errorf("speaker %q: want hw:CARD,DEV, default or none", device)
	}
	return NewPlayerOn(func() (Output, error) { return capture.OpenALSAPlayback(card, dev, Format) }), nil
}

// NewPlayerOn plays on whatever open returns.
func NewPlayerOn(open func() (Output, error)) *Player { return &Player{open: open} }

// PlayStart plays the start cue without waiting.
func (p *Player) PlayStart() { p.play(Cue(true)) }

// PlayStop plays the stop cue without waiting.
func (p *Player) PlayStop() { p.play(Cue(false)) }

func (p *Player) play(samples []int16) {
	p.mu.Lock()
	if p.busy {
		p.mu.Unlock()
		return // a cue is playing: one at a time, never queued up
	}
	p.busy = true
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		defer func() {
			p.mu.Lock()
			p.busy = false
			p.mu.Unlock()
		}()
		if err := p.playNow(samples); err != nil && p.OnError != nil {
			p.OnError(err)
		}
	}()
}

func (p *Player) playNow(samples []int16) error {
	out, err := p.open()
	if err != nil {
		return fmt.Errorf("cue: %w", err)
	}
	defer out.Close()
	var werr error
	if t, ok := out.(TimedOutput); ok && p.OnPlay != nil {
		lead := int(LeadIn.Seconds() * float64(Format.SampleRate))
		buf := make([]int16, lead+len(samples))
		copy(buf[lead:], samples)
		werr = t.WriteHeard(buf, lead, func(at time.Time) { p.OnPlay(samples, Format, at) })
	} else {
		if p.OnPlay != nil {
			// The device was opened for this cue, so its buffer is empty:
			// the first sample written is the next one played, to within a
			// period or so; an echo canceller learns such a path anew for
			// every cue.
			p.OnPlay(samples, Format, time.Now())
		}
		werr = out.Write(samples)
	}
	if werr != nil {
		return fmt.Errorf("cue: %w", werr)
	}
	return out.Drain()
}

// Wait waits for a cue still playing (for a clean shutdown).
func (p *Player) Wait() { p.wg.Wait() }

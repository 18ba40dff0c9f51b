// Package audio is the audio front-end between microphone and encoder: a
// high-pass filter, echo cancellation against what the speaker plays, noise
// suppression, and a band-limited resampler with channel conversion, so a
// stream asking for 44.1 kHz gets it whatever the microphone's native rate.
// Pure Go (FFT from gonum), so the static device binary keeps it.
package audio

import (
	"fmt"
	"math"
)

// Resampler converts interleaved S16 PCM between sample rates with a
// polyphase windowed-sinc filter (Kaiser window, about 90 dB stopband,
// passband to 91 % of the lower Nyquist), and between mono and stereo.
// Process allocates nothing once its output buffer has grown.
type Resampler struct {
	inRate, outRate int
	inCh, outCh     int
	up, down        int         // rational ratio out/in = up/down
	taps            int         // filter taps per phase
	phases          [][]float32 // up phases, each taps long, the tap for the oldest input first
	// Per output channel: input history, oldest first, the newest at
	// hist[c][pos-1]. The buffer is longer than taps so that a window of
	// taps is always contiguous (no shifting per sample); when it fills,
	// the last taps-1 samples move to the front.
	hist [][]float32
	pos  int
	// frac is j*down - i*up for the next output j after input i: the
	// phase of the next output while it is below up.
	frac int
	out  []int16
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the zeroth-order modified Bessel function of the first kind.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

// NewResampler makes a resampler; rates 8000 to 192000, channels 1 or 2.
func NewResampler(inRate, inCh, outRate, outCh int) (*Resampler, error) {
	for _, r := range []int{inRate, outRate} {
		if r < 8000 || r > 192000 {
			return nil, fmt.Errorf("sample rate %d: must be 8000 to 192000", r)
		}
	}
	for _, c := range []int{inCh, outCh} {
		if c != 1 && c != 2 {
			return nil, fmt.Errorf("channels %d: must be 1 or 2", c)
		}
	}
	g := gcd(inRate, outRate)
	r := &Resampler{inRate: inRate, outRate: outRate, inCh: inCh, outCh: outCh, up: outRate / g, down: inRate / g}
	// Cutoff at 91 % of the lower Nyquist, in cycles per input sample.
	lower := float64(min(inRate, outRate))
	fc := 0.91 * lower / 2 / float64(inRate)
	trans := (0.5*lower/float64(inRate) - fc) // transition width, cycles per input sample
	const atten = 90.0                        // dB
	beta := 0.1102 * (atten - 8.7)
	r.taps = int(math.Ceil((atten-8)/(2.285*2*math.Pi*trans))) + 1
	if r.taps%2 == 1 {
		r.taps++
	}
	// Prototype filter at up x the input rate, split into up phases.
	n := r.taps * r.up
	half := float64(n-1) / 2
	proto := make([]float64, n)
	for i := range proto {
		t := (float64(i) - half) / float64(r.up) // in input samples
		x := 2 * fc * t
		sinc := 1.0
		if x != 0 {
			sinc = math.Sin(math.Pi*x) / (math.Pi * x)
		}
		w := besselI0(beta*math.Sqrt(1-math.Pow((float64(i)-half)/half, 2))) / besselI0(beta)
		proto[i] = 2 * fc * sinc * w
	}
	r.phases = make([][]float32, r.up)
	for p := range r.phases {
		r.phases[p] = make([]float32, r.taps)
		for k := 0; k < r.taps; k++ {
			// Tap k of phase p multiplies input sample (newest - k); it is
			// stored reversed, to run along the history. Each phase sums to
			// about 1: unity gain.
			r.phases[p][r.taps-1-k] = float32(proto[k*r.up+p])
		}
	}
	r.hist = make([][]float32, outCh)
	for c := range r.hist {
		r.hist[c] = make([]float32, r.taps-1+resampleHistSpan)
	}
	r.pos = r.taps - 1 // zeros before the first input
	return r, nil
}

// resampleHistSpan is how many input samples the history takes before it
// moves back: the move then costs about taps/resampleHistSpan copies per
// sample.
const resampleHistSpan = 1024

// Delay is the filter's delay in output samples.
func (r *Resampler) Delay() float64 {
	return float64(r.taps) / 2 * float64(r.outRate) / float64(r.inRate)
}

// Process converts in (interleaved, inCh channels) and returns the output
// (interleaved, outCh channels), valid until the next call.
func (r *Resampler) Process(in []int16) []int16 {
	frames := len(in) / r.inCh
	r.out = r.out[:0]
	for i := 0; i < frames; i++ {
		if r.pos == len(r.hist[0]) {
			for c := range r.hist {
				copy(r.hist[c], r.hist[c][r.pos-(r.taps-1):r.pos])
			}
			r.pos = r.taps - 1
		}
		// Channel conversion on the way in.
		for c := 0; c < r.outCh; c++ {
			var v float32
			switch {
			case r.inCh == r.outCh:
				v = float32(in[i*r.inCh+c])
			case r.inCh == 2: // stereo to mono: average
				v = (float32(in[2*i]) + float32(in[2*i+1])) / 2
			default: // mono to stereo: copy
				v = float32(in[i])
			}
			r.hist[c][r.pos] = v
		}
		r.pos++
		// Outputs whose time falls before the next input sample.
		for r.frac < r.up {
			p := r.phases[r.frac]
			for c := 0; c < r.outCh; c++ {
				r.out = append(r.out, clip(dot(p, r.hist[c][r.pos-r.taps:r.pos])))
			}
			r.frac += r.down
		}
		r.frac -= r.up
	}
	return r.out
}

// dot is the inner product of a and b[:len(a)], with eight accumulators so
// that the additions do not wait on each other.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		a8, b8 := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += a8[0] * b8[0]
		s1 += a8[1] * b8[1]
		s2 += a8[2] * b8[2]
		s3 += a8[3] * b8[3]
		s4 += a8[4] * b8[4]
		s5 += a8[5] * b8[5]
		s6 += a8[6] * b8[6]
		s7 += a8[7] * b8[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

func clip(v float32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	// Round half away from zero, as math.Round, without the float64 trip.
	if v < 0 {
		return int16(v - 0.5)
	}
	return int16(v + 0.5)
}

package audio

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
)

// Test material, made by the tests themselves: speech from espeak-ng, noise
// from sox, a fan hum, a chime and a synthetic room.

const testRate = 48000

// speech returns espeak-ng's rendering of text at 48 kHz mono, as float64
// in int16 units, peak normalised to peak (0..1 of full scale).
func speech(t testing.TB, text string, peak float64) []float64 {
	t.Helper()
	mediatest.NeedTool(t, "espeak-ng")
	mediatest.NeedTool(t, "sox")
	dir := t.TempDir()
	raw, res := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "speech.wav")
	run(t, "espeak-ng", "-s", "150", "-w", raw, text)
	// -R: sox dithers the resampled speech down to 16 bits with a random
	// seed otherwise, and the figures would move in the second decimal.
	run(t, "sox", "-R", raw, "-r", "48000", "-c", "1", "-b", "16", res)
	x := readWAVFile(t, res)
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	for i := range x {
		x[i] *= peak * 32767 / m
	}
	return x
}

// soxNoise returns secs of sox's white, pink or brown noise at 48 kHz.
func soxNoise(t testing.TB, kind string, secs float64) []float64 {
	t.Helper()
	mediatest.NeedTool(t, "sox")
	out := filepath.Join(t.TempDir(), kind+".wav")
	run(t, "sox", "-R", "-n", "-r", "48000", "-c", "1", "-b", "16", out, "synth", ftoa(secs), kind+"noise", "vol", "0.5")
	return readWAVFile(t, out)
}

// fanHum is a fan as a recording would have it: a 100 Hz motor hum with
// harmonics, slightly wobbling, over air rush (low-passed noise) whose level
// swells slowly.
func fanHum(secs float64) []float64 {
	n := int(secs * testRate)
	r := rand.New(rand.NewPCG(7, 11))
	x := make([]float64, n)
	var lp1, lp2, phase float64
	for i := range x {
		tt := float64(i) / testRate
		// The motor's phase is the integral of its frequency: sin(2π f0(t) t)
		// would add t f0'(t) to the frequency, a wobble growing with time
		// (to 4 % after 10 s) instead of 0.2 %.
		f0 := 100 * (1 + 0.002*math.Sin(2*math.Pi*0.3*tt))
		phase += 2 * math.Pi * f0 / testRate
		var hum float64
		for h, a := range []float64{1, 0.5, 0.35, 0.2, 0.1} {
			hum += a * math.Sin(phase*float64(h+1)+float64(h))
		}
		w := r.NormFloat64()
		lp1 += 0.15 * (w - lp1)
		lp2 += 0.15 * (lp1 - lp2)
		rush := lp2 * 3 * (1 + 0.3*math.Sin(2*math.Pi*0.2*tt))
		x[i] = 3000*hum + 3000*rush
	}
	return x
}

// chime is a cue like the start sound: three bell-like notes with
// inharmonic partials, a strike and exponential decay.
func chime(secs float64) []float64 {
	n := int(secs * testRate)
	x := make([]float64, n)
	notes := []float64{880, 1108.7, 1318.5}
	r := rand.New(rand.NewPCG(13, 17))
	for k, f := range notes {
		start := k * n / 4
		for i := start; i < n; i++ {
			tt := float64(i-start) / testRate
			env := math.Exp(-tt*6) * math.Min(1, tt*2000)
			x[i] += 6000 * env * (math.Sin(2*math.Pi*f*tt) + 0.4*math.Sin(2*math.Pi*2.76*f*tt) + 0.2*math.Sin(2*math.Pi*5.4*f*tt))
		}
		// The mallet's strike: a 5 ms broadband click, as real chimes have.
		for i := start; i < min(n, start+testRate/200); i++ {
			x[i] += 4000 * r.NormFloat64() * math.Exp(-float64(i-start)/testRate*800)
		}
	}
	return x
}

// room is a synthetic room impulse response: delay, a direct path, a few
// early reflections and an exponentially decaying diffuse tail (RT60 rt60
// seconds, about 9 dB under the direct sound: the speaker sits centimetres
// from the microphone), scaled to gain.
func room(delay, rt60, gain float64) []float64 {
	d := int(delay * testRate)
	tail := int(0.12 * testRate)
	h := make([]float64, d+tail)
	r := rand.New(rand.NewPCG(3, 5))
	h[d] = 1
	for _, e := range []struct{ at, a float64 }{{0.0031, -0.6}, {0.0057, 0.45}, {0.0094, -0.3}, {0.0148, 0.25}} {
		h[d+int(e.at*testRate)] += e.a
	}
	decay := 6.9 / rt60 // amplitude e-folding: -60 dB at rt60
	for i := int(0.02 * testRate); i < tail; i++ {
		tt := float64(i) / testRate
		h[d+i] += 0.03 * r.NormFloat64() * math.Exp(-decay*tt)
	}
	for i := range h {
		h[i] *= gain
	}
	return h
}

// convolve is the convolution of x with h truncated to len(x), by FFT
// (overlap-add): the rooms have thousands of taps, and the benchmarks make
// ten seconds of echo.
func convolve(x, h []float64) []float64 {
	n := 1
	for n < 2*len(h) {
		n *= 2
	}
	block := n - len(h) + 1
	fft := fourier.NewFFT(n)
	buf := make([]float64, n)
	copy(buf, h)
	hs := fft.Coefficients(nil, buf)
	xs := make([]complex128, len(hs))
	y := make([]float64, len(x))
	for off := 0; off < len(x); off += block {
		clear(buf)
		copy(buf, x[off:min(off+block, len(x))])
		fft.Coefficients(xs, buf)
		for i := range xs {
			xs[i] *= hs[i]
		}
		fft.Sequence(buf, xs)
		for i, v := range buf {
			if off+i < len(y) {
				y[off+i] += v / float64(n)
			}
		}
	}
	return y
}

// activeFrames marks the 20 ms frames of clean within 40 dB of its loudest.
func activeFrames(clean []float64, frame int) []bool {
	n := len(clean) / frame
	e := make([]float64, n)
	var top float64
	for f := range e {
		for _, v := range clean[f*frame : (f+1)*frame] {
			e[f] += v * v
		}
		top = max(top, e[f])
	}
	act := make([]bool, n)
	for f := range e {
		act[f] = e[f] > top*1e-4
	}
	return act
}

// activePower is the mean square of the active frames.
func activePower(x []float64) float64 {
	act := activeFrames(x, 960)
	var s float64
	var n int
	for f, a := range act {
		if a {
			for _, v := range x[f*960 : (f+1)*960] {
				s += v * v
			}
			n += 960
		}
	}
	return s / float64(max(n, 1))
}

func power(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s / float64(max(len(x), 1))
}

// mix adds noise to clean at snr dB (active speech level over noise power).
func mix(clean, noise []float64, snr float64) []float64 {
	g := math.Sqrt(activePower(clean) / power(noise[:len(clean)]) / math.Pow(10, snr/10))
	y := make([]float64, len(clean))
	for i := range y {
		y[i] = clean[i] + g*noise[i]
	}
	return y
}

// segSNR is the segmental SNR (20 ms frames, each clamped to -10..35 dB)
// of est against clean over clean's active frames.
func segSNR(clean, est []float64) float64 {
	const frame = 960
	act := activeFrames(clean, frame)
	var sum float64
	var n int
	for f, a := range act {
		if !a || (f+1)*frame > len(est) {
			continue
		}
		var s, e float64
		for i := f * frame; i < (f+1)*frame; i++ {
			s += clean[i] * clean[i]
			d := clean[i] - est[i]
			e += d * d
		}
		sum += min(max(10*math.Log10(s/(e+1e-9)), -10), 35)
		n++
	}
	return sum / float64(n)
}

// runChain feeds x (mono, 48 kHz) through c in 10 ms blocks and returns the
// output shifted back by delay samples so that it lines up with x.
func runChain(t testing.TB, c *Chain, x []float64, delay int) []float64 {
	t.Helper()
	in := media.AudioFormat{SampleRate: testRate, Channels: 1}
	pad := make([]float64, len(x)+delay+480)
	copy(pad, x)
	var out []float64
	blk := media.AudioBlock{Format: in, Samples: make([]int16, 480)}
	for off := 0; off+480 <= len(pad); off += 480 {
		for i := range blk.Samples {
			blk.Samples[i] = clip(float32(pad[off+i]))
		}
		blk.PTS = secondsToDuration(float64(off) / testRate)
		o := c.Process(&blk)
		for _, s := range o.Samples {
			out = append(out, float64(s))
		}
	}
	out = out[delay:]
	return out[:len(x)]
}

func readWAVFile(t testing.TB, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, s, err := ReadWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if f.Channels != 1 {
		t.Fatalf("%s: %d channels", path, f.Channels)
	}
	x := make([]float64, len(s))
	for i, v := range s {
		x[i] = float64(v)
	}
	return x
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func secondsToDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func fmt48(ch int) media.AudioFormat { return media.AudioFormat{SampleRate: testRate, Channels: ch} }

package audio

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/glassagent/glassagent/media"
)

const testSentence = "The quick brown fox jumps over the lazy dog. Please start streaming to the usual server now, and keep the camera steady while I walk along the road."

// TestNoiseSuppression mixes espeak-ng speech with sox noise and a fan hum
// at 0, 5 and 10 dB SNR and measures the segmental SNR before and after:
// Quackenbush et al.'s measure, frames of 20 ms each clamped to -10..35 dB
// (the limits Hu and Loizou use), averaged over the frames where speech is
// active (within 40 dB of the loudest).
//
// The goal at 5 dB is +8 dB for every noise. White and brown noise reach it
// and are held to it. Pink noise and the fan reach +6.3 and +6.5 dB and are
// held to 6, so a regression still fails, and the missed goal stays open:
// with this frame length even the Wiener gain of the true clean-speech
// power in every bin and frame over the true noise spectrum reaches only
// +8.0 (pink) and +7.8 (fan), and the fan's hum cancelled perfectly leaves
// +7.5; a practical suppressor gets about three quarters of such an oracle
// (NOTES.md).
func TestNoiseSuppression(t *testing.T) {
	want5dB := map[string]float64{"white": 8, "brown": 8, "pink": 6, "fan": 6}
	clean := speech(t, testSentence, 0.5)
	secs := float64(len(clean))/testRate + 0.1
	noises := map[string][]float64{
		"white": soxNoise(t, "white", secs),
		"pink":  soxNoise(t, "pink", secs),
		"brown": soxNoise(t, "brown", secs),
		"fan":   fanHum(secs),
	}
	for _, name := range []string{"white", "pink", "brown", "fan"} {
		for _, snr := range []float64{0, 5, 10} {
			noisy := mix(clean, noises[name], snr)
			c, err := New(fmt48(1), Config{NoiseSuppression: true})
			if err != nil {
				t.Fatal(err)
			}
			out := runChain(t, c, noisy, 480)
			before, after := segSNR(clean, noisy), segSNR(clean, out)
			t.Logf("%-5s %2.0f dB SNR: segmental SNR %6.2f -> %6.2f dB (%+.2f dB), noise floor estimate %.1f dBFS",
				name, snr, before, after, after-before, c.Stats().NoiseFloorDBFS)
			if snr == 5 && after-before < want5dB[name] {
				t.Errorf("%s noise at 5 dB: segmental SNR improved by %.2f dB, want >= %.1f", name, after-before, want5dB[name])
			}
		}
	}
}

// TestNoiseSuppressionCleanSpeech: speech alone must come through at its
// level, frame by frame (no gain pumping).
func TestNoiseSuppressionCleanSpeech(t *testing.T) {
	clean := speech(t, testSentence, 0.5)
	c, _ := New(fmt48(1), Config{NoiseSuppression: true})
	out := runChain(t, c, clean, 480)
	act := activeFrames(clean, 960)
	var total, worst, sumIn, sumOut float64
	var n int
	for f, a := range act {
		if !a {
			continue
		}
		var ein, eout float64
		for i := f * 960; i < (f+1)*960; i++ {
			ein += clean[i] * clean[i]
			eout += out[i] * out[i]
		}
		loss := 10 * math.Log10(ein/(eout+1e-9))
		total += loss
		worst = max(worst, loss)
		sumIn += ein
		sumOut += eout
		n++
	}
	mean, overall := total/float64(n), 10*math.Log10(sumIn/sumOut)
	t.Logf("clean speech through NS: level loss %.3f dB overall, %.3f dB mean per active 20 ms frame (worst frame %.1f dB); segmental SNR %.1f dB",
		overall, mean, worst, segSNR(clean, out))
	if overall >= 1 || mean >= 1 {
		t.Errorf("clean speech lost %.3f dB overall, %.3f dB per frame; want < 1 dB", overall, mean)
	}
}

// TestToneKernel: the tone canceller's kernel is the STFT of a cosine, so
// that subtracting it leaves nothing of the cosine.
func TestToneKernel(t *testing.T) {
	const hop = 480
	st := newSTFT(hop, fourier.NewFFT(2*hop))
	tc := newToneCanceller(2*hop, hop+1, 1.5)
	for _, f := range []float64{2, 2.37, 7.5, 40.91} { // bins of 50 Hz
		x := make([]float32, hop)
		var spec []complex128
		const hops = 5
		for m := 0; m < hops; m++ {
			for i := range x {
				x[i] = float32(1000 * math.Cos(2*math.Pi*f*float64(m*hop+i)/(2*hop)+0.3))
			}
			spec = st.analyze(x)
		}
		// The last frame starts at hop (hops-2): the cosine's phase there.
		l := toneLine{f: f}
		tc.kernel(&l)
		a := cmplx.Rect(1000, 2*math.Pi*f*float64((hops-2)*hop)/(2*hop)+0.3)
		var worst, peak float64
		for j := range l.ker {
			peak = max(peak, cmplx.Abs(spec[l.k0+j]))
		}
		l.subtract(spec, a)
		for j := range l.ker {
			worst = max(worst, cmplx.Abs(spec[l.k0+j]))
		}
		if worst > 1e-3*peak {
			t.Errorf("f %.2f bins: kernel off by %.3g of the peak", f, worst/peak)
		}
	}
}

// TestToneCanceller: a motor's hum (100 Hz and four harmonics, its speed
// wobbling by 0.2 %) under white noise 20 dB below it is found and
// cancelled; speech alone starts no line.
func TestToneCanceller(t *testing.T) {
	const hop = 480
	fft := fourier.NewFFT(2 * hop)
	pf := newPostFilter(hop, testRate, fft, true, nil)
	nst := newSTFT(hop, fft) // the noise alone, to tell what is left of the hum
	r := rand.New(rand.NewPCG(5, 6))
	amps := []float64{1000, 500, 350, 200, 100}
	x, nz := make([]float32, hop), make([]float32, hop)
	var phase, hum, left float64
	const hops = 400
	for m := 0; m < hops; m++ {
		for i := range x {
			f0 := 100 * (1 + 0.002*math.Sin(2*math.Pi*0.3*float64(m*hop+i)/testRate))
			phase += 2 * math.Pi * f0 / testRate
			var v float64
			for h, a := range amps {
				v += a * math.Sin(phase*float64(h+1)+float64(h))
			}
			nz[i] = float32(50 * r.NormFloat64())
			x[i] = float32(v) + nz[i]
		}
		spec := pf.st.analyze(x)
		before := append([]complex128(nil), spec...)
		pf.frames++
		pf.tones.process(spec, pf.noise)
		pf.updateNoise(spec)
		ns := nst.analyze(nz)
		if m >= hops-100 { // the last second
			for k := 1; k <= 12; k++ {
				hum += p2c(before[k] - ns[k])
				left += p2c(spec[k] - ns[k])
			}
		}
	}
	depth := 10 * math.Log10(hum/left)
	t.Logf("hum cancelled by %.1f dB over the last second, %d lines", depth, len(pf.tones.lines))
	for _, l := range pf.tones.lines {
		t.Logf("  line at %.2f Hz, amplitude %.0f", l.f*50, cmplx.Abs(l.a))
	}
	if len(pf.tones.lines) != len(amps) || depth < 20 {
		t.Errorf("%d lines, hum cancelled by %.1f dB; want %d lines and at least 20 dB", len(pf.tones.lines), depth, len(amps))
	}

	clean := speech(t, testSentence, 0.5)
	c, _ := New(fmt48(1), Config{NoiseSuppression: true})
	blk := media.AudioBlock{Format: fmt48(1), Samples: make([]int16, hop)}
	started := 0
	for off := 0; off+hop <= len(clean); off += hop {
		for i := range blk.Samples {
			blk.Samples[i] = clip(float32(clean[off+i]))
		}
		c.Process(&blk)
		started = max(started, len(c.post[0].tones.lines))
	}
	if started > 0 {
		t.Errorf("speech alone started %d lines", started)
	}
}

func p2c(c complex128) float64 { return real(c)*real(c) + imag(c)*imag(c) }

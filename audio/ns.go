package audio

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// postFilter is the chain's single-channel spectral suppressor: noise
// suppression, residual echo suppression, or both in one STFT (as speexdsp's
// preprocessor takes the echo canceller's residual echo). Sharing the STFT
// saves FFTs and a hop of latency over running them one after the other.
//
//   - Tonal lines (hum) are cancelled first, by subtraction (toneCanceller).
//   - Noise estimate: the speech-presence-probability estimator of Gerkmann
//     and Hendriks ("Unbiased MMSE-based noise power estimation with low
//     complexity and low tracking delay", 2012). Every hop each bin's noise
//     power moves towards the MMSE estimate of the noise given a fixed
//     a-priori SNR under speech presence: no minimum-statistics bias to
//     correct, one exponential per bin. It follows slow changes; after a
//     step in white noise it is within 2 dB after 2.3 s for +6 dB, 5 s for
//     +10 dB, 3.3 s for -20 dB (a step of +20 dB takes longer still: the
//     safety net below lets in 1 % of a bin that looks like speech). It is
//     seeded with the mean of the first hops and tracks faster for the
//     first half second, so that speech from the first instant neither
//     sticks in it nor is taken for noise for long.
//   - Residual echo: the echo canceller's estimate of its echo in this hop
//     scaled by its leak (how much of its echo estimate's power it misses),
//     decaying slower than it rises, because reverberation outlasts the
//     linear filter's errors.
//   - Gain: the Wiener gain of the decision-directed a-priori SNR (Ephraim
//     and Malah), with a floor so residual noise stays natural rather than
//     gated. On this package's test speech and noise it beats the
//     log-spectral amplitude gain, with or without OM-LSA's speech-presence
//     weighting, by 0.04 to 1.5 dB of segmental SNR on pink noise and the fan
//     (the measure is a waveform error, which the Wiener gain minimises),
//     and costs no exponential integral. With noise suppression the
//     a-priori SNR is smoothed across frequency (a triangle of ±3 bins)
//     before the gain: one bin's decision-directed estimate is a noisy
//     thing, speech's spectrum at 50 Hz resolution is not, and the
//     smoothing is worth 0.4 dB on pink noise, 1 dB on white and brown. Noise
//     and echo each have their own floor; a bin with both gets the
//     power-weighted mix. Bins below the voice band (DC and 50 Hz) carry
//     nothing of speech (see HighPassCutoff) and get the noise floor
//     outright: low-frequency-heavy noise (pink, brown, rumble) puts much
//     of its power there, and drifts there too slowly to be estimated.
type postFilter struct {
	st    *stft
	bins  int
	ns    bool           // estimate and suppress noise
	aec   *echoCanceller // nil without echo suppression
	tones *toneCanceller // nil without noise suppression

	noise, pbar   []float64 // noise power and its smoothed speech presence probability
	echo          []float64 // residual echo power
	prevClean     []float64 // last hop's clean power estimate
	xi, xis, fl   []float64 // scratch per bin: a-priori SNR, smoothed, gain floor
	xiNorm, xiBox []float64 // smoothXi's normalisation per bin, and scratch
	frames        int
	noiseFloorPow float64 // nsFloorDB as a power ratio
	echoFloorPow  float64
	lowBins       int // bins below the voice band
}

// Tuning, for a 10 ms hop, found on the material in material_test.go.
const (
	nsFloorDB     = -25.0 // noise gain floor
	aecFloorDB    = -40.0 // residual echo gain floor: echo is not "natural" background
	nsXiH1        = 10.0  // noise estimator's a-priori SNR under speech presence (10 dB)
	nsAlphaPow    = 0.98  // noise power smoothing (about half a second)
	nsAlphaInit   = 0.8   // the same over the first nsFastFrames
	nsFastFrames  = 50
	nsSeedFrames  = 4    // hops whose mean seeds the noise estimate
	nsAlphaDD     = 0.9  // decision-directed weight: higher smooths musical noise, lower follows speech onsets
	nsXiSmooth    = 3    // half-width (bins) of the triangle the a-priori SNR is smoothed across frequency with
	nsXiMin       = 3e-3 // a-priori SNR floor (-25 dB)
	nsPowFloor    = 1e-2 // noise power floor (int16 units), so digital silence has a defined SNR
	nsVoiceBandHz = 75   // bins centred below this get the noise floor
	aecEchoDecay  = 0.6  // residual echo power's decay per hop once its estimate falls
	// The residual echo is over-estimated: the leak is a broadband average,
	// and the filter's misadjustment concentrates in the bins and hops
	// where the echo changes fastest (a chime's strike).
	aecEchoOver = 4.0
)

func newPostFilter(hop, rate int, fft *fourier.FFT, ns bool, aec *echoCanceller) *postFilter {
	st := newSTFT(hop, fft)
	k := len(st.spec)
	mk := func() []float64 { return make([]float64, k) }
	pf := &postFilter{st: st, bins: k, ns: ns, aec: aec,
		noise: mk(), pbar: mk(), echo: mk(), prevClean: mk(),
		xi: mk(), xis: mk(), fl: mk(), xiNorm: mk(), xiBox: make([]float64, k+nsXiSmooth),
		noiseFloorPow: math.Pow(10, nsFloorDB/10), echoFloorPow: math.Pow(10, aecFloorDB/10),
	}
	for i := range pf.xiNorm {
		var ws float64
		for j := max(i-nsXiSmooth, 0); j <= min(i+nsXiSmooth, k-1); j++ {
			ws += float64(nsXiSmooth + 1 - abs(j-i))
		}
		pf.xiNorm[i] = 1 / ws
	}
	if ns {
		// Bin i is centred on i*rate/n Hz.
		pf.lowBins = int(math.Ceil(nsVoiceBandHz * float64(st.n) / float64(rate)))
		pf.tones = newToneCanceller(st.n, k, nsVoiceBandHz*float64(st.n)/float64(rate))
	}
	return pf
}

// process suppresses noise and residual echo in one hop, in place; the
// output is one hop late. With an echo canceller, x must be its output for
// this hop: the canceller hands over its half spectrum.
func (pf *postFilter) process(x []float32) {
	var spec, yspec []complex128
	var leak float64
	if pf.aec != nil {
		spec = pf.st.analyzeHalf(pf.aec.errHalf())
		yspec = pf.aec.echoSpectrum()
		leak = pf.aec.residualLeak()
	} else {
		spec = pf.st.analyze(x)
	}
	pf.frames++
	if pf.ns {
		if pf.tones != nil {
			pf.tones.process(spec, pf.noise)
		}
		pf.updateNoise(spec)
	}
	floor := math.Sqrt(pf.noiseFloorPow)
	if !pf.ns {
		floor = math.Sqrt(pf.echoFloorPow)
	}
	for i := range spec {
		c := spec[i]
		p := real(c)*real(c) + imag(c)*imag(c)
		lambda := nsPowFloor
		if pf.ns {
			lambda = pf.noise[i]
		}
		fl := floor
		if yspec != nil {
			y := yspec[i]
			e := max(aecEchoOver*leak*(real(y)*real(y)+imag(y)*imag(y)), aecEchoDecay*pf.echo[i])
			pf.echo[i] = e
			if pf.ns {
				fl = math.Sqrt((pf.noiseFloorPow*lambda + pf.echoFloorPow*e) / (lambda + e))
			}
			lambda += e
		}
		pf.fl[i] = fl
		post := p / lambda
		pf.xi[i] = max(nsAlphaDD*pf.prevClean[i]/lambda+(1-nsAlphaDD)*max(post-1, 0), nsXiMin)
	}
	xi := pf.xi
	if pf.ns {
		xi = pf.smoothXi()
	}
	for i := range spec {
		c := spec[i]
		p := real(c)*real(c) + imag(c)*imag(c)
		g := xi[i] / (1 + xi[i])
		pf.prevClean[i] = g * g * p
		g = max(g, pf.fl[i])
		if i < pf.lowBins {
			g = pf.fl[i]
		}
		spec[i] = complex(real(c)*g, imag(c)*g)
	}
	pf.st.synthesize(x)
}

// smoothXi is the a-priori SNR smoothed across frequency with a triangle
// of half-width nsXiSmooth bins (weights 1, 2, ..., w+1, ..., 2, 1), in
// pf.xis. The triangle is a box of w+1 bins trailing each bin convolved
// with one leading it: two running sums instead of 2w+1 products a bin.
// Near the ends the weights in range are normalised (pf.xiNorm).
func (pf *postFilter) smoothXi() []float64 {
	const w = nsXiSmooth
	k := len(pf.xi)
	b := pf.xiBox // k+w: the trailing box sums, past the end too
	var s float64
	for j := range b {
		if j < k {
			s += pf.xi[j]
		}
		if j-w-1 >= 0 && j-w-1 < k {
			s -= pf.xi[j-w-1]
		}
		b[j] = s
	}
	s = 0
	for j := 0; j < w; j++ {
		s += b[j]
	}
	for i := 0; i < k; i++ {
		s += b[i+w]
		pf.xis[i] = s * pf.xiNorm[i]
		s -= b[i]
	}
	return pf.xis
}

// updateNoise is the Gerkmann-Hendriks noise power update.
func (pf *postFilter) updateNoise(spec []complex128) {
	if pf.frames <= nsSeedFrames {
		for i, c := range spec {
			p := real(c)*real(c) + imag(c)*imag(c)
			pf.noise[i] = max(pf.noise[i]+(p-pf.noise[i])/float64(pf.frames), nsPowFloor)
		}
		return
	}
	const g1 = nsXiH1 / (1 + nsXiH1)
	a := nsAlphaPow
	if pf.frames < nsFastFrames {
		a = nsAlphaInit
	}
	for i, c := range spec {
		p := real(c)*real(c) + imag(c)*imag(c)
		n := pf.noise[i]
		ph1 := 1 / (1 + (1+nsXiH1)*math.Exp(-p/n*g1))
		pf.pbar[i] = 0.9*pf.pbar[i] + 0.1*ph1
		if pf.pbar[i] > 0.99 {
			ph1 = min(ph1, 0.99) // a bin where speech seems never to stop must still follow the noise
		}
		pf.noise[i] = max(a*n+(1-a)*((1-ph1)*p+ph1*n), nsPowFloor)
	}
}

// noiseFloorDBFS is the noise estimate as the level (dB relative to full
// scale RMS) of a white noise with the same power.
func (pf *postFilter) noiseFloorDBFS() float64 {
	var sum float64
	for _, v := range pf.noise {
		sum += v
	}
	// A Hann-windowed frame of n samples of white noise of power sigma²
	// gives sigma² * 3n/8 per bin, over n/2 bins.
	n := float64(pf.st.n)
	sigma2 := 16 * sum / (3 * n * n)
	return 10 * math.Log10(sigma2/(32768*32768)+1e-20)
}

// toneCanceller removes stationary tonal lines (a fan's or a motor's hum and
// its harmonics, mains hum, a whine) from the frame spectrum before the
// spectral gain. A spectral gain can only scale a bin: a hum line shares its
// bins with the harmonics of voiced speech, so the gain either keeps the hum
// with the speech or loses the speech with the hum. A stationary sinusoid is
// predictable, though: its complex amplitude advances by a known phase each
// hop, so it can be estimated over many hops and subtracted, which leaves
// whatever else is in the bin untouched.
//
//   - Detection: a bin dominated by one steady sinusoid has the same phase
//     advance from hop to hop, e^{jπf} for a line at f bins with a hop of
//     half a frame. The advance over toneLag hops, averaged over about a
//     second and normalised by its magnitude, is a coherence near one for
//     such a bin and near zero for noise or speech, whose harmonics move. A
//     bin that stays coherent for toneSteadyHops, is the nearest bin to the
//     frequency its phase advance gives, and whose noise estimate holds the
//     line's power, starts a line there (see detect).
//   - Tracking: each line's amplitude is measured every hop by projecting
//     the spectrum, less the other lines, on the line's kernel (the Hann
//     window's spectrum at its fractional frequency, over the main lobe and
//     first side lobes). Lines are updated one after the other on the
//     residual of the others, which converges to their joint least-squares
//     fit where kernels overlap (harmonics 100 Hz apart are two bins
//     apart). A two-state Kalman filter (phase, frequency) follows the
//     measured phase, so that a wobbling motor speed leaves little behind,
//     and it weighs each measurement by what else is in the line's bins:
//     through a word whose harmonics share them it coasts on its frequency.
//     The magnitude is smoothed the same way.
//   - A line that falls below the noise in its bin for toneWeakHops is
//     dropped: cancelling it buys nothing, and it cannot be tracked.
type toneCanceller struct {
	n, bins  int
	minBin   float64               // lowest line frequency, bins
	hist     [toneLag][]complex128 // the last toneLag spectra, before cancellation
	hop      int
	coh1     []complex128 // per bin: the phase advance over a hop, smoothed
	coh2     []complex128 // the same over 2 hops
	cohL     []complex128 // the same over toneLag hops
	mag      []float64    // smoothed magnitude of the latter
	steady   []int32      // hops in a row each bin has been coherent
	lines    []toneLine   // at most maxTones
	cands    []int        // scratch: bins starting a line this hop
	rot      complex128   // e^{-jπ(n-1)/n}: the kernel's phase step per bin
	halfStep complex128   // e^{jπ/n}
}

type toneLine struct {
	f      float64                    // frequency, bins
	a      complex128                 // complex amplitude, time origin at the frame's first sample
	age    int                        // hops since the line started
	weak   int                        // hops in a row below the noise
	k0     int                        // first bin of ker
	ker    [2*toneSpan + 1]complex128 // the line's spectrum per unit amplitude
	img    [2*toneSpan + 1]complex128 // the same for its negative frequency, by conj(a)
	hasImg bool
	kpow   float64 // sum of |ker|²
	kpk    float64 // |ker|² in the bin nearest the line
	pk     int     // that bin, from k0
	pre    float64 // that bin's power this hop, before cancellation
	// The Kalman filter's covariance of phase and frequency (rad, rad/hop).
	p00, p01, p11 float64
}

const (
	maxTones       = 16
	toneSpan       = 3    // kernel bins either side of the line's nearest bin
	toneCohAlpha   = 0.99 // coherence smoothing (about a second)
	toneCohOn      = 0.3  // coherence that counts as a steady line
	toneNoiseMax   = 1.5  // a line's power over the noise estimate in its bin, at most
	toneLag        = 8    // hops over which a line's phase advance is steady
	toneSteadyHops = 100  // hops of coherence before a line starts
	toneMu         = 0.05 // amplitude step once settled (time constant 20 hops)
	toneWeakHops   = 50
	toneWander     = 5e-5 // a line's frequency change per hop, relative (Kalman process noise)
	toneFreqVar    = 4e-4 // a new line's frequency variance, (rad/hop)²: 0.006 bins
	toneImageBins  = 8    // bins from a line's image beyond which it is under the side lobes (-50 dB)
)

func newToneCanceller(n, bins int, minBin float64) *toneCanceller {
	tc := &toneCanceller{
		n: n, bins: bins, minBin: minBin,
		coh1: make([]complex128, bins), coh2: make([]complex128, bins), cohL: make([]complex128, bins),
		mag: make([]float64, bins), steady: make([]int32, bins),
		lines: make([]toneLine, 0, maxTones), cands: make([]int, 0, maxTones),
		rot:      cmplx.Exp(complex(0, -math.Pi*float64(n-1)/float64(n))),
		halfStep: cmplx.Exp(complex(0, math.Pi/float64(n))),
	}
	for i := range tc.hist {
		tc.hist[i] = make([]complex128, bins)
	}
	return tc
}

// process cancels the tracked lines in spec, in place, and looks for new
// ones. noise is the suppressor's noise estimate (after cancellation).
func (tc *toneCanceller) process(spec []complex128, noise []float64) {
	cands := tc.detect(spec, noise)
	for i := range tc.lines {
		l := &tc.lines[i]
		// Prediction: one hop on, the phase advances by πf; the frequency
		// may have wandered (by toneWander of itself, per hop).
		l.a *= cmplx.Exp(complex(0, math.Pi*l.f))
		qw := toneWander * math.Pi * l.f
		l.p00 += 2*l.p01 + l.p11
		l.p01 += l.p11
		l.p11 += qw * qw
		tc.kernel(l)
		v := spec[l.k0+l.pk]
		l.pre = real(v)*real(v) + imag(v)*imag(v)
		l.subtract(spec, l.a)
	}
	for i := range tc.lines {
		l := &tc.lines[i]
		// The residual's projection on the line's kernel is the error of its
		// predicted amplitude: m is the amplitude measured this hop.
		e := l.project(spec)
		m := l.a + e
		pk := l.k0 + l.pk
		amp := cmplx.Abs(l.a)
		// What disturbs the measurement: the noise, and whatever else is in
		// the line's peak bin beyond the line and the noise (speech). Its
		// projection on the kernel has variance lam/kpow; the phase of m
		// then has about half that over the line's power.
		lam := max(noise[pk], l.pre-amp*amp*l.kpk)
		r := lam / (2 * l.kpow * max(amp*amp, 1e-9))
		// Kalman update of phase and frequency (rad, rad per hop) from the
		// phase innovation.
		nu := cmplx.Phase(m * complex(real(l.a), -imag(l.a)))
		sv := l.p00 + r
		k0, k1 := l.p00/sv, l.p01/sv
		p00, p01, p11 := l.p00, l.p01, l.p11
		l.p00, l.p01, l.p11 = (1-k0)*p00, (1-k0)*p01, p11-k1*p01
		l.f += k1 * nu / math.Pi
		rot := cmplx.Exp(complex(0, k0*nu))
		// The magnitude: the measurement along the new phase, smoothed, the
		// more slowly the more speech there is.
		u := l.a * rot / complex(max(amp, 1e-9), 0)
		meas := real(m * complex(real(u), -imag(u)))
		mu := max(1/float64(l.age+1), toneMu) * min(noise[pk]/lam, 1)
		l.age++
		na := u * complex(max(amp+mu*(meas-amp), 0), 0)
		l.subtract(spec, na-l.a)
		l.a = na
		// Weak: the line's power in its peak bin under the noise there.
		if p := real(l.a)*real(l.a) + imag(l.a)*imag(l.a); p*l.kpk < noise[pk] {
			l.weak++
		} else {
			l.weak = 0
		}
	}
	// What goes out loses the lines' expected value, not their estimate:
	// with the phase known only to within a standard deviation σ (the
	// Kalman filter's), the mean of e^{jφ} is e^{-σ²/2} of the estimate's.
	// A line the filter has lost track of (during a word in its bins) is
	// then only partly taken out, instead of replaced by one of the wrong
	// phase (on the fan hum, 0.14 dB of segmental SNR).
	for i := range tc.lines {
		l := &tc.lines[i]
		l.subtract(spec, -complex(1-math.Exp(-l.p00/2), 0)*l.a)
	}
	// Drop weak lines and those that drifted out of range.
	kept := tc.lines[:0]
	for _, l := range tc.lines {
		if l.weak < toneWeakHops && l.f >= tc.minBin && l.f < float64(tc.bins-1-toneSpan) {
			kept = append(kept, l)
		}
	}
	tc.lines = kept
	for _, k := range cands {
		tc.start(spec, k)
	}
}

// detect updates the per-bin statistics with spec (before cancellation)
// and returns the bins where a new line should start (reusing tc.cands).
//
// A line at f bins advances by e^{jπf} a hop (half a frame). Over toneLag
// hops, the advance is e^{jπ f toneLag}, which a wobble of the frequency
// turns by toneLag times as much: a motor's hum stays coherent over 80 ms,
// the harmonics of speech (whose pitch moves by several per cent within a
// word) do not, nor noise. The lag-1 advance says whether k is the bin
// nearest the line (within half a bin: the bins around it see the same
// line at ±1). The lag-2 advance, over exactly one frame, gives the offset
// within half a bin, unbiased by noise (frames a frame apart do not
// overlap); the lag-toneLag one then refines it.
func (tc *toneCanceller) detect(spec []complex128, noise []float64) []int {
	tc.cands = tc.cands[:0]
	tc.hop++
	old1 := tc.hist[(tc.hop+toneLag-1)%toneLag]
	old2 := tc.hist[(tc.hop+toneLag-2)%toneLag]
	oldL := tc.hist[tc.hop%toneLag] // toneLag hops back, about to be overwritten
	if tc.hop > toneLag {
		lo := max(int(math.Ceil(tc.minBin)), 1)
		hi := tc.bins - 1 - toneSpan
		on2 := toneCohOn * toneCohOn
		const a = toneCohAlpha
		for k := lo; k < hi; k++ {
			y, pl := spec[k], oldL[k]
			zl := y * complex(real(pl), -imag(pl))
			c := a*tc.cohL[k] + (1-a)*zl
			m := a*tc.mag[k] + (1-a)*math.Sqrt((real(y)*real(y)+imag(y)*imag(y))*(real(pl)*real(pl)+imag(pl)*imag(pl)))
			tc.cohL[k], tc.mag[k] = c, m
			if real(c)*real(c)+imag(c)*imag(c) <= on2*m*m || m == 0 {
				tc.steady[k] = 0
				tc.coh1[k], tc.coh2[k] = 0, 0
				continue
			}
			// The short-lag advances only matter once a bin is steady, and
			// their averages then cover its steady time (at least
			// toneSteadyHops) before a line can start.
			p1, p2 := old1[k], old2[k]
			z1 := y * complex(real(p1), -imag(p1))
			if k&1 == 1 {
				z1 = -z1 // a line exactly on bin k advances by (-1)^k
			}
			tc.coh1[k] = a*tc.coh1[k] + (1-a)*z1
			tc.coh2[k] = a*tc.coh2[k] + (1-a)*y*complex(real(p2), -imag(p2))
			tc.steady[k]++
			if tc.steady[k] >= toneSteadyHops && len(tc.lines)+len(tc.cands) < maxTones {
				tc.cands = append(tc.cands, k)
			}
		}
	}
	copy(oldL, spec)
	// The line must be nearest bin k and part of the noise: the noise
	// estimate, which learns only what lasts, must hold its power (the
	// coherent part of the lagged product). A speech harmonic that happened
	// to hold still has far more power than the noise estimate in its bin.
	kept := tc.cands[:0]
	for _, k := range tc.cands {
		c1 := tc.coh1[k]
		if math.Abs(cmplx.Phase(c1)) > math.Pi/2 || cmplx.Abs(tc.cohL[k]) > toneNoiseMax*noise[k] {
			continue
		}
		if f := tc.freq(k); f >= tc.minBin && !tc.near(f) {
			kept = append(kept, k)
		}
	}
	tc.cands = kept
	return tc.cands
}

// freq is the frequency (bins) of the line bin k is coherent with.
func (tc *toneCanceller) freq(k int) float64 {
	d2 := cmplx.Phase(tc.coh2[k]) / (2 * math.Pi) // offset from k, within half a bin
	// The lag-toneLag phase gives the offset modulo 2/toneLag bins: take the
	// alias nearest d2.
	const step = 2.0 / toneLag
	dl := cmplx.Phase(tc.cohL[k]) / (math.Pi * toneLag)
	return float64(k) + dl + step*math.Round((d2-dl)/step)
}

// near reports whether a line is tracked within 0.75 bins of f (lines a
// bin apart are told apart by their kernels: 50 Hz hum's harmonics).
func (tc *toneCanceller) near(f float64) bool {
	for _, l := range tc.lines {
		if math.Abs(l.f-f) < 0.75 {
			return true
		}
	}
	return false
}

// start begins a line at the frequency bin k's coherence gives, its
// amplitude the projection of the residual spec on its kernel.
func (tc *toneCanceller) start(spec []complex128, k int) {
	f := tc.freq(k)
	if tc.near(f) {
		return // two candidates for one line
	}
	tc.lines = append(tc.lines, toneLine{f: f})
	l := &tc.lines[len(tc.lines)-1]
	tc.kernel(l)
	l.a = l.project(spec)
	l.age = 1
	l.p00, l.p11 = 0.1, toneFreqVar
	l.subtract(spec, l.a)
}

// subtract takes amplitude a of the line out of spec.
func (l *toneLine) subtract(spec []complex128, a complex128) {
	for j, h := range l.ker {
		spec[l.k0+j] -= a * h
	}
	if l.hasImg {
		ac := complex(real(a), -imag(a))
		for j, h := range l.img {
			spec[l.k0+j] -= ac * h
		}
	}
}

// project is the amplitude of the line that best fits spec (the gradient
// of the squared residual, normalised by the kernel's power).
func (l *toneLine) project(spec []complex128) complex128 {
	var e complex128
	for j, h := range l.ker {
		e += spec[l.k0+j] * complex(real(h), -imag(h))
	}
	if l.hasImg {
		for j, h := range l.img {
			s := spec[l.k0+j]
			e += complex(real(s), -imag(s)) * h
		}
	}
	return e / complex(l.kpow, 0)
}

// kernel sets l's kernels for this hop: the windowed frame spectrum over
// bins k0 to k0+2*toneSpan of a cosine at l.f bins, cos(2π f i/n) =
// (e^{j2πfi/n} + e^{-j2πfi/n})/2, is ker for the positive frequency and
// img for the negative one, which matters only for lines near DC.
func (tc *toneCanceller) kernel(l *toneLine) {
	const w = 2*toneSpan + 1
	k0 := min(max(int(math.Round(l.f))-toneSpan, 0), tc.bins-w)
	l.k0 = k0
	tc.hann(l.ker[:], float64(k0)-l.f)
	l.hasImg = float64(k0)+l.f < toneImageBins
	if l.hasImg {
		tc.hann(l.img[:], float64(k0)+l.f)
	}
	l.kpow = 0
	for _, v := range l.ker {
		l.kpow += real(v)*real(v) + imag(v)*imag(v)
	}
	l.pk = int(math.Round(l.f)) - k0
	v := l.ker[l.pk]
	l.kpk = real(v)*real(v) + imag(v)*imag(v)
}

// hann sets dst[j] to half the Hann window's spectrum at d0+j bins, H/2.
//
// With D(x) = Σ_i e^{-j2πxi/n} = e^{-jπx(n-1)/n} sin(πx)/sin(πx/n), the
// periodic Hann window's spectrum is H(d) = D(d)/2 - (D(d-1) + D(d+1))/4,
// which is e^{-jπd(n-1)/n} sin(πd) (1/(2s(d)) - e^{-jπ/n}/(4s(d-1)) -
// e^{jπ/n}/(4s(d+1))) with s(x) = sin(πx/n): from bin to bin only the
// phase turns and sin(πd) changes sign.
func (tc *toneCanceller) hann(dst []complex128, d0 float64) {
	n := float64(tc.n)
	if r := d0 - math.Round(d0); math.Abs(r) < 1e-9 {
		d0 += 1e-9 // on a bin: the limit, where 0/0 stands
	}
	ph := cmplx.Exp(complex(0, -math.Pi*d0*(n-1)/n))
	sn := 0.5 * math.Sin(math.Pi*d0)
	sPrev, s := math.Sin(math.Pi*(d0-1)/n), math.Sin(math.Pi*d0/n)
	hs, hsc := tc.halfStep, complex(real(tc.halfStep), -imag(tc.halfStep))
	for j := range dst {
		sNext := math.Sin(math.Pi * (d0 + float64(j+1)) / n)
		h := complex(0.5/s, 0) - hsc*complex(0.25/sPrev, 0) - hs*complex(0.25/sNext, 0)
		dst[j] = ph * complex(sn, 0) * h
		ph *= tc.rot
		sn = -sn
		sPrev, s = s, sNext
	}
}

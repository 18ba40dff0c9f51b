package audio

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// echoCanceller removes what the glasses' own speaker puts into the
// microphone, given the far-end (played) signal. It follows speexdsp's MDF
// (Valin, "On adjusting the learning rate in frequency domain echo
// cancellation with double-talk", 2007):
//
//   - a partitioned-block frequency-domain adaptive filter (overlap-save,
//     one partition per 10 ms hop), normalised per bin by the reference
//     power over the filter, with speexdsp's proportional weighting (the
//     partitions holding more of the echo path adapt faster; the step is
//     bounded where that weighting meets a far end that just started) and the
//     gradient constraint applied to one partition at a time, now and then
//     (the full constraint every hop would cost two FFTs per partition, and
//     here it even slows convergence);
//   - a per-bin learning rate from the residual echo to error ratio, the
//     residual echo being the echo estimate scaled by the filter's leak (the
//     regression of the error's power fluctuations on the echo estimate's,
//     which near-end speech does not bias). Near-end speech makes the error
//     large and the rate small, so talking over a cue does not wreck a
//     converged filter, with one filter where speexdsp runs two. Until the
//     filter has adapted at all, the rate is a fixed large one, limited by
//     the far-end to error power ratio. And what goes out is never worse
//     than the microphone itself: while the filter's error has more power
//     than the microphone (it learnt noise, there being no echo path), the
//     microphone passes as it is, which is what speexdsp's second filter
//     buys, for no second convolution;
//   - delay alignment: the filter first spans the whole configured tail to
//     find the echo path's direct sound (its largest tap, which is also the
//     reported delay), constraining several partitions a hop so that every
//     tap is seen often. Once the peak holds still, the filter keeps only
//     aecAlignedParts partitions from just before it: the room's
//     reverberation. Fewer partitions converge faster, misadjust less and
//     cost less. The window follows the peak if it moves, and the search
//     starts over if the filter stops cancelling while the far end plays.
//
// The residual echo itself is removed by the postFilter, which shares this
// canceller's spectra.
type echoCanceller struct {
	h, n, k, parts int
	fft            *fourier.FFT

	xbuf   []float64      // n: previous and current reference hop
	x      [][]complex128 // parts spectra of the reference, a ring, newest at head
	xz     []bool         // per ring slot: the spectrum is zero (silent reference)
	xpow   [][]float64    // per ring slot: the spectrum's power
	hops   int            // hops processed
	head   int
	silent int            // hops since the reference last had sound
	w      [][]complex128 // the filter: w[j] is for the reference offset+j hops back
	wTmp   [][]complex128 // scratch for moving the window

	offset, active int       // the filter covers ring lags [offset, offset+active)
	aligned        bool      // active is aecAlignedParts around the found delay
	prop           []float64 // per partition: its share of the step
	wEnergy        []float64 // per partition: its energy after the last update

	pxx   []float64    // per bin: reference power over the active partitions
	pw    []float64    // per bin: the same, each partition weighted by its share of the step
	y     []complex128 // echo estimate (overlap-save)
	eHalf []complex128 // error half spectrum: the gradient's, and the postFilter's input
	yHalf []complex128 // echo estimate half spectrum
	grad  []complex128 // error times the per-bin step
	ySTFT *stft        // Hann-windowed spectrum of the echo estimate, for the postFilter
	yspec []complex128
	// What goes out is the microphone less use times the echo estimate
	// (see selectOutput); outHalf and outY are the half spectra of that and
	// of the echo estimate taken out.
	use           float64
	sddAvg, seAvg float64
	outHalf, outY []complex128
	tbuf          []float64 // n scratch
	e32           []float32 // h: error
	y32           []float32 // h: echo estimate

	nextConstrain int
	partPeak      []float64 // per partition: largest tap magnitude when last constrained
	partPeakAt    []int     // and where in the partition
	lastPeak      int       // absolute tap of the last sweep's peak, -1 none
	stable        int       // sweeps the peak stayed put
	searchHops    int       // far-end hops since the search (re)started
	adaptHops     int       // hops the filter adapted

	// Learning rate control, speexdsp's names.
	leak, pey, pyy float64
	ehAvg, yhAvg   []float64
	sumAdapt       float64
	adapted        bool

	// Statistics, smoothed over the time the far end plays: microphone and
	// error power for the linear filter's ERLE; the same microphone power a
	// hop late and the postFilter's output (which is a hop late) for the
	// total.
	micPow, linPow, micPowT, outPow float64
	micNow, micLast                 float64
	farNow, farLast                 bool
	poorHops                        int
	bestERLE                        float64
	delay                           int // samples; -1 until the filter has learnt the echo path
}

const (
	aecAlignedParts = 12    // 10 ms before the direct sound, 110 ms of room after it
	aecSearchRate   = 4     // partitions constrained a hop while searching...
	aecSearchHops   = 200   // ...for the first 2 s of far-end sound, then one every other hop
	aecAlignedEvery = 8     // hops between constraining a partition once aligned
	aecInitRate     = 0.6   // learning rate before the filter has adapted
	aecMaxRate      = 1.0   // learning rate scale once adapted
	aecMaxStep      = 0.5   // the largest step, in full proportionate-NLMS steps (see adapt)
	aecMinLeak      = 0.005 // speexdsp's MIN_LEAK: the residual echo is never taken for less than -23 dB of the estimate
	aecActivePower  = 100.0 // mean square (int16 units) of a reference hop that counts as playing (-50 dBFS)
	aecSilentPower  = 1e-2  // mean square below which a reference hop is silence
	aecStableSweeps = 2     // sweeps with the same peak before aligning
	aecLostHops     = 200   // far-end hops of poor linear cancellation before searching again...
	aecLostDrop     = 12.0  // ...poor being this many dB under the best since aligning
	aecLearntERLE   = 3.0   // dB of linear cancellation that show the filter has learnt the echo path
	aecPeakTol      = 24    // samples the peak may wander between sweeps and still count as stable
	aecRegFloor     = 1e-3  // per-bin regularisation, relative to the mean reference power
	aecSpecAverage  = 0.01  // speexdsp's spec_average for a 10 ms hop
	aecBeta0        = 0.02  // speexdsp's beta0 for a 10 ms hop
	aecBetaMax      = 0.005 // speexdsp's beta_max for a 10 ms hop
	aecPropShare    = 0.1   // speexdsp: every partition gets at least 10 % of the strongest one's step
	aecPxxRefresh   = 256   // hops between recomputing the window's reference power
)

func newEchoCanceller(hop, parts int, fft *fourier.FFT) *echoCanceller {
	n := 2 * hop
	k := hop + 1
	cs := func() []complex128 { return make([]complex128, k) }
	fs := func(m int) []float64 { return make([]float64, m) }
	a := &echoCanceller{h: hop, n: n, k: k, parts: parts, fft: fft,
		xbuf: fs(n), xz: make([]bool, parts), silent: parts,
		x: make([][]complex128, parts), w: make([][]complex128, parts), wTmp: make([][]complex128, parts),
		active: parts, prop: fs(parts), wEnergy: fs(parts),
		pxx: fs(k), pw: fs(k), y: cs(), eHalf: cs(), yHalf: cs(), grad: cs(), ySTFT: newSTFT(hop, fft),
		outHalf: cs(), outY: cs(),
		tbuf: fs(n), e32: make([]float32, hop), y32: make([]float32, hop),
		partPeak: fs(parts), partPeakAt: make([]int, parts), lastPeak: -1,
		leak: 1, pey: 1, pyy: 1, ehAvg: fs(k), yhAvg: fs(k),
		delay: -1,
	}
	a.xpow = make([][]float64, parts)
	for p := range a.x {
		a.x[p], a.w[p], a.xpow[p] = cs(), cs(), fs(k)
		a.xz[p] = true
	}
	a.adjustProp()
	return a
}

// lag is the ring slot of the reference j hops back from the newest.
func (a *echoCanceller) lag(j int) int { return (a.head + j) % a.parts }

// process cancels the echo of ref (this hop of what the speaker played) in
// mic, in place, with no delay. The error and echo estimate spectra stay
// for the postFilter.
func (a *echoCanceller) process(mic, ref []float32) {
	h := a.h
	copy(a.xbuf, a.xbuf[h:])
	var refPow float64
	for i, v := range ref {
		a.xbuf[h+i] = float64(v)
		refPow += float64(v) * float64(v)
	}
	refPow /= float64(h)
	// The oldest spectrum in the window leaves it (and may be overwritten).
	a.pxxAdd(a.lag(a.offset+a.active-1), -1)
	a.head = (a.head + a.parts - 1) % a.parts
	if s := a.head; refPow < aecSilentPower && a.silent > 0 {
		// Two silent hops in a row: the frame's spectrum is zero, no FFT.
		if !a.xz[s] {
			clear(a.x[s])
			clear(a.xpow[s])
			a.xz[s] = true
		}
		a.silent++
	} else {
		xs, xp := a.x[s], a.xpow[s]
		a.fft.Coefficients(xs, a.xbuf)
		for i, v := range xs {
			xp[i] = real(v)*real(v) + imag(v)*imag(v)
		}
		a.xz[s] = false
		a.silent = 0
		if refPow < aecSilentPower {
			a.silent = 1
		}
	}
	if a.hops++; a.hops%aecPxxRefresh == 0 {
		a.pxxRecompute()
	} else {
		a.pxxAdd(a.lag(a.offset), 1)
	}

	var micPow float64
	for _, v := range mic {
		micPow += float64(v) * float64(v)
	}
	// With the reference silent over the whole filter the echo estimate is
	// zero: no convolution, no inverse FFT, nothing to learn.
	idle := a.silent > a.offset+a.active
	var syy, see, sey float64
	if idle {
		copy(a.e32, mic)
		halfSpectrum(a.fft, a.eHalf, a.e32, a.tbuf)
		copy(a.outHalf, a.eHalf)
		clear(a.yHalf)
		clear(a.outY)
		see = micPow
	} else {
		a.convolve()
		a.fft.Sequence(a.tbuf, a.y)
		scale := 1 / float64(a.n)
		for i := 0; i < h; i++ {
			yv := a.tbuf[h+i] * scale
			ev := float64(mic[i]) - yv
			a.y32[i], a.e32[i] = float32(yv), float32(ev)
			syy += yv * yv
			see += ev * ev
			sey += ev * yv
		}
		halfSpectrum(a.fft, a.yHalf, a.y32, a.tbuf)
		halfSpectrum(a.fft, a.eHalf, a.e32, a.tbuf)
		a.selectOutput(mic, micPow, see)
	}
	a.yspec = a.ySTFT.analyzeHalf(a.outY)
	if !idle {
		a.adapt(refPow*float64(h), syy, see, sey)
	}
	a.track(refPow, micPow, see)
}

// convolve sums the active partitions' echo estimates into a.y.
func (a *echoCanceller) convolve() {
	k := a.k
	y := a.y[:k]
	clear(y)
	for j := 0; j < a.active; j++ {
		s := a.lag(a.offset + j)
		if a.xz[s] {
			continue
		}
		xp, wp := a.x[s][:k], a.w[j][:k]
		for i, xv := range xp {
			xr, xi := real(xv), imag(xv)
			wr, wi := real(wp[i]), imag(wp[i])
			y[i] += complex(wr*xr-wi*xi, wr*xi+wi*xr)
		}
	}
}

// selectOutput writes to out (the microphone's hop) the microphone less
// use times the echo estimate and its half spectra. use goes to 0 when the
// filter's error has more power than the microphone (a filter that learnt
// nothing but noise, with no echo path to find), back to 1 when it has 10 %
// less, over a hop's ramp; the half spectra follow by linearity, with an
// FFT only on a ramp.
func (a *echoCanceller) selectOutput(out []float32, micPow, errPow float64) {
	const s = 0.9
	a.sddAvg = s*a.sddAvg + (1-s)*micPow
	a.seAvg = s*a.seAvg + (1-s)*errPow
	target := a.use
	switch {
	case a.use > 0 && a.seAvg > a.sddAvg:
		target = 0
	case a.use < 1 && a.seAvg < 0.9*a.sddAvg:
		target = 1
	}
	k := a.k
	switch {
	case target == a.use && a.use == 1:
		copy(out, a.e32)
		copy(a.outHalf, a.eHalf)
		copy(a.outY, a.yHalf)
	case target == a.use: // 0: the microphone, whose half spectrum is the error's plus the echo estimate's
		for i := 0; i < k; i++ {
			a.outHalf[i] = a.eHalf[i] + a.yHalf[i]
		}
		clear(a.outY)
	default:
		h := float64(a.h)
		for i := range out {
			g := a.use + (target-a.use)*(float64(i)+0.5)/h
			out[i] -= float32(g) * a.y32[i]
		}
		halfSpectrum(a.fft, a.outHalf, out, a.tbuf)
		for i := 0; i < k; i++ {
			a.outY[i] = a.eHalf[i] + a.yHalf[i] - a.outHalf[i]
		}
		a.use = target
	}
}

// pxxAdd adds (sign 1) or removes (-1) ring slot s's power to or from the
// window's: a.pxx follows the window a slot a hop rather than summing it.
func (a *echoCanceller) pxxAdd(s int, sign float64) {
	if a.xz[s] {
		return
	}
	pxx := a.pxx[:a.k]
	for i, v := range a.xpow[s][:a.k] {
		pxx[i] = max(pxx[i]+sign*v, 0)
	}
}

// pxxRecompute sums the window's power afresh, when the window moves and
// now and then against rounding drift.
func (a *echoCanceller) pxxRecompute() {
	clear(a.pxx)
	for j := 0; j < a.active; j++ {
		a.pxxAdd(a.lag(a.offset+j), 1)
	}
}

// adapt updates the filter from this hop's error with speexdsp's learning
// rate rules, in this filter's normalisation (a rate of 1 is a full NLMS
// step over the active partitions), bounded where that would overshoot.
func (a *echoCanceller) adapt(sxx, syy, see, sey float64) {
	k := a.k
	see += float64(a.h) // keeps the ratios finite in digital silence
	a.updateLeak()
	// The residual to error ratio, broadband, at least the share of the
	// error that still correlates with the echo estimate.
	rer := (0.0001*sxx + 3*a.leak*syy) / see
	rer = min(max(rer, sey*sey/(1+see*syy)), 0.5)
	if !a.adapted && a.sumAdapt > float64(a.active) && a.leak < 0.5 {
		a.adapted = true
	}
	var meanPxx float64
	for _, v := range a.pxx {
		meanPxx += v
	}
	if meanPxx == 0 {
		return
	}
	reg := aecRegFloor*meanPxx/float64(k) + 1
	// The step is speexdsp's (normalised by the reference power summed
	// over the partitions, each partition's share of it weighted by its
	// energy), but never more than aecMaxStep of a full proportionate-NLMS
	// step, which is normalised by the power weighted by those shares
	// (x^H G x rather than x^H x). The plain sum is right for a far end
	// that is stationary over the filter; when only the newest partitions
	// have power, as at a cue after a pause longer than the filter, it
	// overshoots by the strongest partition's weight (up to the number of
	// partitions), and an adapted filter whose echo path lies there
	// diverged within a few hops. The bound leaves speexdsp's step alone
	// where it was small; normalising by x^H G x throughout (pure
	// proportionate NLMS) left the unit tests' chime trains 2-6 dB less
	// cancelled in their second second, half a step (the bound) 0-3 dB.
	pw := a.pw[:k]
	clear(pw)
	for j := 0; j < a.active; j++ {
		s := a.lag(a.offset + j)
		if a.xz[s] {
			continue
		}
		pr := a.prop[j] * float64(a.active)
		for i, v := range a.xpow[s][:k] {
			pw[i] += pr * v
		}
	}
	grad, pxx, eh, yh := a.grad[:k], a.pxx[:k], a.eHalf[:k], a.yHalf[:k]
	if a.adapted {
		for i := range grad {
			e, y := eh[i], yh[i]
			rf := real(e)*real(e) + imag(e)*imag(e) + 1
			yf := real(y)*real(y) + imag(y)*imag(y)
			r := 0.7*min(a.leak*yf, 0.5*rf) + 0.3*rer*rf
			s := min(2*aecMaxRate*r/(rf*(pxx[i]+reg)), aecMaxStep/(pw[i]+reg))
			grad[i] = complex(real(e)*s, imag(e)*s)
		}
	} else {
		rate := aecInitRate * min(sxx/see, 1)
		a.sumAdapt += rate
		for i := range grad {
			s := min(rate/(pxx[i]+reg), aecMaxStep/(pw[i]+reg))
			grad[i] = complex(real(eh[i])*s, imag(eh[i])*s)
		}
	}
	for j := 0; j < a.active; j++ {
		s := a.lag(a.offset + j)
		if a.xz[s] {
			continue
		}
		xp, wp := a.x[s][:k], a.w[j][:k]
		pr := a.prop[j] * float64(a.active)
		var energy float64
		for i, xv := range xp {
			// w += pr * conj(x) * grad
			xr, xi := real(xv), imag(xv)
			gr, gi := real(grad[i])*pr, imag(grad[i])*pr
			w := wp[i] + complex(xr*gr+xi*gi, xr*gi-xi*gr)
			wp[i] = w
			energy += real(w)*real(w) + imag(w)*imag(w)
		}
		a.wEnergy[j] = energy
	}
	// The gradient constraint, a partition at a time: every
	// aecAlignedEvery hops once aligned, to follow the delay. Less often is
	// better: between constraints the partitions' second halves help model
	// the room (the unconstrained filter converges faster here, and keeps
	// more ERLE over ten seconds too). While searching, more often, so that
	// the peak is seen soon.
	a.adaptHops++
	n := 0
	switch {
	case a.aligned:
		if a.adaptHops%aecAlignedEvery == 0 {
			n = 1
		}
	case a.searchHops < aecSearchHops:
		n = aecSearchRate
	case a.adaptHops%2 == 0:
		n = 1
	}
	if !a.aligned {
		a.searchHops++
	}
	for ; n > 0; n-- {
		a.constrain(a.nextConstrain)
		if a.nextConstrain++; a.nextConstrain >= a.active {
			a.nextConstrain = 0
			a.endSweep()
		}
	}
	a.adjustProp()
}

// constrain makes partition j a causal filter of h taps (the second half
// of its impulse response would wrap around in the overlap-save
// convolution) and notes its largest tap for the delay search.
func (a *echoCanceller) constrain(j int) {
	w := a.w[j]
	a.fft.Sequence(a.tbuf, w)
	scale := 1 / float64(a.n)
	peak, at := 0.0, 0
	for i := 0; i < a.h; i++ {
		v := a.tbuf[i] * scale
		a.tbuf[i] = v
		a.tbuf[a.h+i] = 0
		if m := math.Abs(v); m > peak {
			peak, at = m, i
		}
	}
	a.fft.Coefficients(w, a.tbuf)
	a.partPeak[j], a.partPeakAt[j] = peak, at
}

// endSweep runs when every active partition has been constrained once: it
// updates the delay estimate and aligns the window.
func (a *echoCanceller) endSweep() {
	best, bj := 0.0, -1
	for j := 0; j < a.active; j++ {
		if a.partPeak[j] > best {
			best, bj = a.partPeak[j], j
		}
	}
	if bj < 0 {
		return
	}
	peak := (a.offset+bj)*a.h + a.partPeakAt[bj]
	if a.lastPeak >= 0 && abs(peak-a.lastPeak) <= aecPeakTol {
		a.stable++
	} else {
		a.stable = 0
	}
	a.lastPeak = peak
	if a.linERLE() < aecLearntERLE {
		return
	}
	a.delay = peak
	if a.parts <= aecAlignedParts || a.stable < aecStableSweeps {
		return
	}
	// The window starts a partition before the one holding the peak.
	if want := min(max(peak/a.h-1, 0), a.parts-aecAlignedParts); !a.aligned || want != a.offset {
		a.setWindow(want, aecAlignedParts)
		a.aligned, a.bestERLE = true, a.linERLE()
	}
}

// setWindow moves the filter to ring lags [offset, offset+active), keeping
// the coefficients for the lags both windows cover.
func (a *echoCanceller) setWindow(offset, active int) {
	// w[j] keeps its absolute lag: a rotation of the partitions; those for
	// lags the old window did not cover start from zero.
	shift := offset - a.offset
	for j := range a.wTmp {
		a.wTmp[j] = a.w[((j+shift)%a.parts+a.parts)%a.parts]
	}
	for j := range a.wTmp {
		if src := j + shift; j >= active || src < 0 || src >= a.active {
			clear(a.wTmp[j])
		}
	}
	copy(a.w, a.wTmp)
	clear(a.partPeak)
	a.offset, a.active = offset, active
	a.nextConstrain = 0
	for j := range a.wEnergy {
		var t float64
		for _, v := range a.w[j] {
			t += real(v)*real(v) + imag(v)*imag(v)
		}
		a.wEnergy[j] = t
	}
	a.adjustProp()
	a.pxxRecompute()
}

// adjustProp is speexdsp's mdf_adjust_prop: each partition's share of the
// step goes with its energy (as adapt last saw it), and is at least a tenth
// of the strongest's.
func (a *echoCanceller) adjustProp() {
	var maxSum, sum float64
	for j := 0; j < a.active; j++ {
		a.prop[j] = math.Sqrt(a.wEnergy[j]) + 1e-9
		maxSum = max(maxSum, a.prop[j])
	}
	for j := 0; j < a.active; j++ {
		a.prop[j] += aecPropShare * maxSum
		sum += a.prop[j]
	}
	for j := 0; j < a.active; j++ {
		a.prop[j] = 0.99 * a.prop[j] / sum
	}
}

// updateLeak is speexdsp's leak estimate: the regression of the error's
// power fluctuations on the echo estimate's, adapted faster the more echo
// there is.
func (a *echoCanceller) updateLeak() {
	var pey, pyy, see, syy float64
	k := a.k
	eh, yh, ea, ya := a.eHalf[:k], a.yHalf[:k], a.ehAvg[:k], a.yhAvg[:k]
	for i := range eh {
		e, y := eh[i], yh[i]
		rf := real(e)*real(e) + imag(e)*imag(e)
		yf := real(y)*real(y) + imag(y)*imag(y)
		de, dy := rf-ea[i], yf-ya[i]
		pey += de * dy
		pyy += dy * dy
		ea[i] += aecSpecAverage * (rf - ea[i])
		ya[i] += aecSpecAverage * (yf - ya[i])
		see += rf
		syy += yf
	}
	if see <= 0 {
		return
	}
	if pyy = math.Sqrt(pyy); pyy > 0 {
		pey /= pyy
	}
	alpha := min(aecBeta0*syy, aecBetaMax*see) / see
	a.pey = (1-alpha)*a.pey + alpha*pey
	a.pyy = max((1-alpha)*a.pyy+alpha*pyy, 1)
	a.pey = min(max(a.pey, aecMinLeak*a.pyy), a.pyy)
	a.leak = a.pey / a.pyy
}

// residualLeak is the share of the echo estimate's power the linear filter
// leaves in its output.
func (a *echoCanceller) residualLeak() float64 { return a.leak }

// errHalf is the half spectrum of this hop's output.
func (a *echoCanceller) errHalf() []complex128 { return a.outHalf }

// echoSpectrum is the Hann-windowed spectrum of the echo estimate taken
// out over the last two hops, the postFilter's frame.
func (a *echoCanceller) echoSpectrum() []complex128 { return a.yspec }

// track keeps the statistics and goes back to searching when an aligned
// filter stops cancelling.
func (a *echoCanceller) track(refPow, micPow, errPow float64) {
	active := refPow > aecActivePower
	a.farLast, a.farNow = a.farNow, active
	a.micLast, a.micNow = a.micNow, micPow
	if !active {
		return
	}
	const s = 0.98
	a.micPow = s*a.micPow + (1-s)*micPow
	a.linPow = s*a.linPow + (1-s)*errPow
	// Lost: the linear ERLE stayed well under the best this window gave.
	if lin := a.linERLE(); a.aligned && lin < max(aecLearntERLE, a.bestERLE-aecLostDrop) {
		a.poorHops++
	} else {
		a.poorHops = 0
		a.bestERLE = max(a.bestERLE, lin)
	}
	if a.poorHops > aecLostHops {
		// The echo path left the window: search the whole tail again, from
		// scratch (what the filter holds is of the old path and would only
		// seed false peaks).
		for _, w := range a.w {
			clear(w)
		}
		a.setWindow(0, a.parts)
		a.aligned, a.stable, a.poorHops, a.searchHops, a.lastPeak = false, 0, 0, 0, -1
	}
}

// noteOutput takes the postFilter's output, which belongs to the previous
// hop, for the total ERLE.
func (a *echoCanceller) noteOutput(out []float32) {
	if !a.farLast {
		return
	}
	var p float64
	for _, v := range out {
		p += float64(v) * float64(v)
	}
	const s = 0.98
	a.micPowT = s*a.micPowT + (1-s)*a.micLast
	a.outPow = s*a.outPow + (1-s)*p
}

func (a *echoCanceller) linERLE() float64 {
	if a.micPow == 0 {
		return 0
	}
	return 10 * math.Log10(a.micPow/(a.linPow+1e-9))
}

// erle is the echo return loss enhancement so far: total (with the
// suppressor) and of the linear filter alone, in dB.
func (a *echoCanceller) erle() (total, linear float64) {
	if a.outPow == 0 || a.micPowT == 0 {
		return 0, a.linERLE()
	}
	return 10 * math.Log10(a.micPowT/(a.outPow+1e-9)), a.linERLE()
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

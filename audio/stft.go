package audio

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// stft is a short-time Fourier transform with 50 % overlap: frames of two
// hops, a periodic Hann analysis window and the synthesis window
// hann/(hann²+(1-hann)²), whose products with the analysis window of
// overlapping frames sum to one. A gain of one everywhere reconstructs the
// input exactly, delayed by one hop, and both windows taper to zero at the
// frame's ends, so a spectral gain leaves no clicks at frame boundaries.
//
// The Hann window is chosen over the usual square-root Hann because its
// spectrum has three taps: the windowed spectrum of a frame is a three-term
// convolution of the unwindowed one, and the unwindowed frame's spectrum is
// the sum of its two hops' "half spectra" (the FFT of a hop in the second
// half of a zeroed frame), the older one sign-alternated. So each hop costs
// one forward FFT, and the echo canceller, which computes the half spectrum
// of its error anyway (overlap-save), hands it over and saves that FFT too.
// gonum's FFT takes about half of the whole chain's time, so this matters.
type stft struct {
	hop, n int
	fft    *fourier.FFT
	syn    []float64    // n: synthesis window
	frame  []float64    // n, scratch
	prev   []complex128 // n/2+1: the previous hop's half spectrum
	spec   []complex128 // n/2+1: the windowed frame spectrum
	tail   []float64    // hop: the second half of the previous synthesis
}

func newSTFT(hop int, fft *fourier.FFT) *stft {
	n := 2 * hop
	s := &stft{
		hop: hop, n: n, fft: fft,
		syn: make([]float64, n), frame: make([]float64, n),
		prev: make([]complex128, hop+1), spec: make([]complex128, hop+1), tail: make([]float64, hop),
	}
	for i := range s.syn {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		s.syn[i] = w / (w*w + (1-w)*(1-w))
	}
	return s
}

// halfSpectrum writes to dst the spectrum of a frame whose first half is
// zero and whose second half is hop, using scratch (n long).
func halfSpectrum(fft *fourier.FFT, dst []complex128, hop []float32, scratch []float64) []complex128 {
	h := len(hop)
	for i := 0; i < h; i++ {
		scratch[i] = 0
		scratch[h+i] = float64(hop[i])
	}
	return fft.Coefficients(dst, scratch)
}

// analyze takes the next hop of input and returns the windowed spectrum of
// the last two hops. The slice is reused.
func (s *stft) analyze(hop []float32) []complex128 {
	cur := halfSpectrum(s.fft, s.spec, hop, s.frame)
	return s.analyzeHalf(cur)
}

// analyzeHalf is analyze for a hop whose half spectrum is already known
// (cur may be s.spec itself).
func (s *stft) analyzeHalf(cur []complex128) []complex128 {
	k := len(s.spec)
	// The frame's unwindowed spectrum: moving a hop from the second half to
	// the first multiplies bin i by (-1)^i. prev then takes cur, and spec
	// the unwindowed spectrum.
	for i := 0; i < k; i++ {
		c := cur[i]
		if i&1 == 0 {
			s.spec[i] = c + s.prev[i]
		} else {
			s.spec[i] = c - s.prev[i]
		}
		s.prev[i] = c
	}
	// Hann: 0.5 X[i] - 0.25 (X[i-1] + X[i+1]), the spectrum continued by
	// conjugate symmetry at both ends.
	f := s.spec
	left := complex(real(f[1]), -imag(f[1]))
	for i := 0; i < k-1; i++ {
		c := f[i]
		f[i] = 0.5*c - 0.25*(left+f[i+1])
		left = c
	}
	c := f[k-1]
	f[k-1] = 0.5*c - 0.25*(left+complex(real(left), -imag(left)))
	return f
}

// synthesize transforms s.spec back, windows it and overlap-adds: out gets
// the next hop of output.
func (s *stft) synthesize(out []float32) {
	s.fft.Sequence(s.frame, s.spec)
	scale := 1 / float64(s.n) // gonum's inverse is unnormalised
	h := s.hop
	for i := 0; i < h; i++ {
		out[i] = float32(s.tail[i] + s.frame[i]*s.syn[i]*scale)
		s.tail[i] = s.frame[h+i] * s.syn[h+i] * scale
	}
}

package audio

import "math"

// highPass is a second-order Butterworth high-pass (a biquad, transposed
// direct form II) per channel. It removes DC offset and the rumble of wind,
// footsteps and frame vibration below the voice band before the stages that
// estimate spectra, where that energy would otherwise dominate.
type highPass struct {
	b0, b1, b2, a1, a2 float64
	z1, z2             []float64 // per channel state
}

// HighPassCutoff is the high-pass stage's -3 dB frequency. 80 Hz keeps the
// fundamental of low voices (about 85 Hz and up) while removing mains hum
// harmonics at 50/60 Hz by 6-9 dB and DC completely.
const HighPassCutoff = 80.0

func newHighPass(rate, channels int, cutoff float64) *highPass {
	// Bilinear transform of the analogue Butterworth prototype (RBJ cookbook).
	w0 := 2 * math.Pi * cutoff / float64(rate)
	const q = 1 / math.Sqrt2 // Butterworth
	cos, alpha := math.Cos(w0), math.Sin(w0)/(2*q)
	a0 := 1 + alpha
	return &highPass{
		b0: (1 + cos) / 2 / a0, b1: -(1 + cos) / a0, b2: (1 + cos) / 2 / a0,
		a1: -2 * cos / a0, a2: (1 - alpha) / a0,
		z1: make([]float64, channels), z2: make([]float64, channels),
	}
}

// process filters one channel's samples in place.
func (h *highPass) process(c int, x []float32) {
	z1, z2 := h.z1[c], h.z2[c]
	for i, v := range x {
		in := float64(v)
		out := h.b0*in + z1
		z1 = h.b1*in - h.a1*out + z2
		z2 = h.b2*in - h.a2*out
		x[i] = float32(out)
	}
	// Flush denormals so silence after a loud burst costs nothing.
	if math.Abs(z1) < 1e-20 {
		z1 = 0
	}
	if math.Abs(z2) < 1e-20 {
		z2 = 0
	}
	h.z1[c], h.z2[c] = z1, z2
}

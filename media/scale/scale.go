// Package scale shrinks raw 4:2:0 video frames (I420 and NV12) for the
// resolution ladder: when the link cannot carry the stream's own size, the
// pipeline encodes a smaller picture of the same camera frames.
//
// The filter is an area average (a box whose width is the scale ratio):
// every output pixel is the mean of the source area it covers, partial
// pixels weighted by how much of them it covers. Unlike bilinear
// interpolation, which reads two pixels whatever the ratio, it does not
// alias at ratios past 2:1 (720p to 240p is 3:1), and an encoder at a low
// bitrate spends fewer bits on a picture without aliasing shimmer.
//
// It works in two separable passes in fixed point, through one row of
// intermediate sums, into buffers made once: a frame costs no allocation.
package scale

import (
	"github.com/glassagent/glassagent/media"
)

// Fixed point: each axis' weights sum to 1<<weightBits; the vertical pass
// keeps midBits of fraction in its 16-bit row so the horizontal pass rounds
// only once.
const (
	weightBits = 14
	midShift   = 6 // (8-bit pixel << 14) >> 6 leaves 16 bits: 8 of fraction
	midBits    = weightBits - midShift
	outShift   = weightBits + midBits
)

// axis maps one dimension of n source pixels onto m output pixels: output
// i reads taps source pixels from start[i], with weights w[i*taps:].
type axis struct {
	start []int
	w     []uint32
	taps  int
}

// newAxis computes the area-average weights for n -> m, m <= n. Output i
// covers [i*n/m, (i+1)*n/m) of the source; a source pixel counts by the
// length of its overlap with that interval.
func newAxis(n, m int) axis {
	// The widest interval is n/m long and can touch ceil(n/m)+1 pixels;
	// count what the intervals really touch, so a 2:1 axis reads two.
	taps := 1
	for i := 0; i < m; i++ {
		lo, hi := i*n, (i+1)*n // in units of 1/m source pixel
		first, last := lo/m, (hi-1)/m
		taps = max(taps, last-first+1)
	}
	a := axis{start: make([]int, m), w: make([]uint32, m*taps), taps: taps}
	for i := 0; i < m; i++ {
		lo, hi := i*n, (i+1)*n
		first := lo / m
		// A start near the end is moved back so that every output reads
		// taps pixels inside the source; the extra taps weigh 0.
		first = min(first, n-taps)
		a.start[i] = first
		ws := a.w[i*taps : (i+1)*taps]
		var sum uint32
		big := 0
		for k := range ws {
			p := first + k
			// Overlap of [p*m, (p+1)*m) with [lo, hi), in 1/m pixels,
			// out of the interval's n.
			ov := min((p+1)*m, hi) - max(p*m, lo)
			if ov <= 0 {
				continue
			}
			ws[k] = uint32((ov<<weightBits + n/2) / n)
			sum += ws[k]
			if ws[k] > ws[big] {
				big = k
			}
		}
		// Rounding may leave the sum a unit off: the largest weight takes
		// it, so a flat area stays exactly flat.
		ws[big] += 1<<weightBits - sum
	}
	return a
}

// Scaler shrinks frames of one format to one smaller size. It is not safe
// for concurrent use: one goroutine (the pipeline's video loop) owns it.
type Scaler struct {
	src, dst     media.VideoFormat
	luma, chroma struct{ x, y axis }
	mid          []uint16 // one row of vertical sums (luma width, the widest)
	buf          []byte   // the output frame's planes
	out          media.VideoFrame
}

// New makes a scaler from src to dst: the same pixel format (I420 or NV12),
// even dimensions, dst no larger than src on either axis.
func New(src, dst media.VideoFormat) (*Scaler, error) {
	bad := func(format string, args ...any) (*Scaler, error) {
		return nil, media.Errorf(media.CodeInvalidConfig, "scale: "+format, args...)
	}
	switch {
	case src.Pixel != media.PixelFormatI420 && src.Pixel != media.PixelFormatNV12:
		return bad("pixel format %s: I420 or NV12 only", src.Pixel)
	case dst.Pixel != src.Pixel:
		return bad("%s to %s: the scaler does not convert formats", src.Pixel, dst.Pixel)
	case src.Width < 2 || src.Height < 2 || src.Width%2 != 0 || src.Height%2 != 0:
		return bad("source %dx%d: width and height must be even and at least 2", src.Width, src.Height)
	case dst.Width < 2 || dst.Height < 2 || dst.Width%2 != 0 || dst.Height%2 != 0:
		return bad("destination %dx%d: width and height must be even and at least 2", dst.Width, dst.Height)
	case dst.Width > src.Width || dst.Height > src.Height:
		return bad("%dx%d to %dx%d: only shrinks", src.Width, src.Height, dst.Width, dst.Height)
	}
	s := &Scaler{src: src, dst: dst}
	s.luma.x, s.luma.y = newAxis(src.Width, dst.Width), newAxis(src.Height, dst.Height)
	s.chroma.x, s.chroma.y = newAxis(src.Width/2, dst.Width/2), newAxis(src.Height/2, dst.Height/2)
	s.mid = make([]uint16, src.Width)
	w, h := dst.Width, dst.Height
	s.buf = make([]byte, w*h*3/2)
	s.out.Format = dst
	switch dst.Pixel {
	case media.PixelFormatI420:
		s.out.Planes = [][]byte{s.buf[:w*h], s.buf[w*h : w*h*5/4], s.buf[w*h*5/4:]}
		s.out.Strides = []int{w, w / 2, w / 2}
	case media.PixelFormatNV12:
		s.out.Planes = [][]byte{s.buf[:w*h], s.buf[w*h:]}
		s.out.Strides = []int{w, w}
	}
	return s, nil
}

// Format is the output format.
func (s *Scaler) Format() media.VideoFormat { return s.dst }

// Scale shrinks f into the scaler's own frame and returns it, with f's
// timestamps and sequence number. The result is valid until the next call;
// f is not released (its owner does that).
func (s *Scaler) Scale(f *media.VideoFrame) (*media.VideoFrame, error) {
	if f.Format.Pixel != s.src.Pixel || f.Format.Width != s.src.Width || f.Format.Height != s.src.Height {
		return nil, media.Errorf(media.CodeInvalidConfig, "scale: frame is %s %dx%d, the scaler takes %s %dx%d",
			f.Format.Pixel, f.Format.Width, f.Format.Height, s.src.Pixel, s.src.Width, s.src.Height)
	}
	w, h, cw, ch := s.src.Width, s.src.Height, s.src.Width/2, s.src.Height/2
	var err error
	switch s.src.Pixel {
	case media.PixelFormatI420:
		if err = checkPlanes(f, [][2]int{{w, h}, {cw, ch}, {cw, ch}}); err != nil {
			return nil, err
		}
		s.plane(s.out.Planes[0], s.out.Strides[0], f.Planes[0], f.Strides[0], w, s.luma.x, s.luma.y, 1)
		s.plane(s.out.Planes[1], s.out.Strides[1], f.Planes[1], f.Strides[1], cw, s.chroma.x, s.chroma.y, 1)
		s.plane(s.out.Planes[2], s.out.Strides[2], f.Planes[2], f.Strides[2], cw, s.chroma.x, s.chroma.y, 1)
	case media.PixelFormatNV12:
		if err = checkPlanes(f, [][2]int{{w, h}, {w, ch}}); err != nil {
			return nil, err
		}
		s.plane(s.out.Planes[0], s.out.Strides[0], f.Planes[0], f.Strides[0], w, s.luma.x, s.luma.y, 1)
		s.plane(s.out.Planes[1], s.out.Strides[1], f.Planes[1], f.Strides[1], cw, s.chroma.x, s.chroma.y, 2)
	}
	s.out.PTS, s.out.Captured, s.out.Seq = f.PTS, f.Captured, f.Seq
	return &s.out, nil
}

// checkPlanes verifies that the frame's planes hold their rows at their
// strides (dims: bytes per row, rows), so the loops below cannot run off.
func checkPlanes(f *media.VideoFrame, dims [][2]int) error {
	if len(f.Planes) < len(dims) || len(f.Strides) < len(dims) {
		return media.Errorf(media.CodeInvalidConfig, "scale: %s frame has %d planes and %d strides, want %d",
			f.Format.Pixel, len(f.Planes), len(f.Strides), len(dims))
	}
	for i, d := range dims {
		if f.Strides[i] < d[0] {
			return media.Errorf(media.CodeInvalidConfig, "scale: plane %d stride %d is below its row size %d", i, f.Strides[i], d[0])
		}
		if need := f.Strides[i]*(d[1]-1) + d[0]; len(f.Planes[i]) < need {
			return media.Errorf(media.CodeInvalidConfig, "scale: plane %d has %d bytes, want at least %d", i, len(f.Planes[i]), need)
		}
	}
	return nil
}

// plane shrinks one plane. n is the source width in samples of one
// component; comps is 1 for a plain plane, 2 for NV12's interleaved UV
// (each component scaled on its own, the pair kept together).
func (s *Scaler) plane(dst []byte, dstStride int, src []byte, srcStride, n int, ax, ay axis, comps int) {
	rowLen := n * comps
	mid := s.mid[:rowLen]
	outW := len(ax.start)
	for oy, sy := range ay.start {
		// Vertical: the weighted sum of this output row's source rows,
		// with midBits of fraction, into mid.
		wy := ay.w[oy*ay.taps : (oy+1)*ay.taps]
		vertical(mid, src, sy*srcStride, srcStride, rowLen, wy)
		// Horizontal: each output sample from its taps of mid.
		out := dst[oy*dstStride : oy*dstStride+outW*comps]
		horizontal(out, mid, ax, comps)
	}
}

// vertical sums the taps rows starting at off into mid. The common tap
// counts have loops of their own, written so the compiler drops the bounds
// checks from them (every row resliced to mid's length).
func vertical(mid []uint16, src []byte, off, stride, n int, w []uint32) {
	const round = 1 << (midShift - 1)
	mid = mid[:n]
	switch len(w) {
	case 1:
		r0 := src[off : off+n]
		for x, p := range r0 {
			mid[x] = uint16(uint32(p) << midBits)
		}
	case 2:
		r0, r1 := src[off:off+n], src[off+stride:off+stride+n]
		r1 = r1[:len(r0)]
		mid = mid[:len(r0)]
		w0, w1 := w[0], w[1]
		for x, p := range r0 {
			mid[x] = uint16((uint32(p)*w0 + uint32(r1[x])*w1 + round) >> midShift)
		}
	case 3:
		r0, r1, r2 := src[off:off+n], src[off+stride:off+stride+n], src[off+2*stride:off+2*stride+n]
		r1, r2 = r1[:len(r0)], r2[:len(r0)]
		mid = mid[:len(r0)]
		w0, w1, w2 := w[0], w[1], w[2]
		for x, p := range r0 {
			mid[x] = uint16((uint32(p)*w0 + uint32(r1[x])*w1 + uint32(r2[x])*w2 + round) >> midShift)
		}
	default:
		for x := range mid {
			var sum uint32
			for k, wk := range w {
				sum += uint32(src[off+k*stride+x]) * wk
			}
			mid[x] = uint16((sum + round) >> midShift)
		}
	}
}

// horizontal computes each output sample from its taps in mid.
func horizontal(out []byte, mid []uint16, ax axis, comps int) {
	const round = 1 << (outShift - 1)
	t := ax.taps
	if t == 2 && comps == 1 {
		// The most common case (720p to 540p, 2:1) gets a loop without
		// per-tap slicing.
		ws := ax.w[:2*len(ax.start)]
		out = out[:len(ax.start)]
		for i, sx := range ax.start {
			m := mid[sx : sx+2]
			out[i] = byte((uint32(m[0])*ws[2*i] + uint32(m[1])*ws[2*i+1] + round) >> outShift)
		}
		return
	}
	if t == 2 && comps == 2 {
		// NV12's UV pairs: both components from the same two positions.
		ws := ax.w[:2*len(ax.start)]
		out = out[:2*len(ax.start)]
		for i, sx := range ax.start {
			m := mid[2*sx : 2*sx+4]
			w0, w1 := ws[2*i], ws[2*i+1]
			out[2*i] = byte((uint32(m[0])*w0 + uint32(m[2])*w1 + round) >> outShift)
			out[2*i+1] = byte((uint32(m[1])*w0 + uint32(m[3])*w1 + round) >> outShift)
		}
		return
	}
	for c := 0; c < comps; c++ {
		for i, sx := range ax.start {
			w := ax.w[i*t : (i+1)*t]
			base := sx*comps + c
			var sum uint32
			for k, wk := range w {
				sum += uint32(mid[base+k*comps]) * wk
			}
			out[i*comps+c] = byte((sum + round) >> outShift)
		}
	}
}

package encode

import (
	"fmt"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/v4l2"
)

// pickRaw chooses the encoder's input layout: the one the frames already
// have (no conversion during the copy), else the other 4:2:0 layout.
func pickRaw(offers []v4l2.FormatDesc, want media.PixelFormat) (uint32, error) {
	order := []uint32{v4l2.FourCCNV12, v4l2.FourCCNV12M, v4l2.FourCCI420, v4l2.FourCCI420M}
	if want == media.PixelFormatI420 {
		order = []uint32{v4l2.FourCCI420, v4l2.FourCCI420M, v4l2.FourCCNV12, v4l2.FourCCNV12M}
	}
	have := map[uint32]bool{}
	for _, f := range offers {
		have[f.FourCC] = true
	}
	for _, c := range order {
		if have[c] {
			return c, nil
		}
	}
	return 0, media.Errorf(media.CodeEncoderFailed, "encoder takes none of NV12, NM12, YU12, YM12")
}

// copyFrame copies (converting between I420 and NV12 if needed) frame f
// into an OUTPUT buffer of layout pix and format of, whose memory planes
// are dst, and returns the bytes used per memory plane. Lines follow the
// driver's bytesperline; one memory plane holds the colour planes one after
// another (Y, then UV or U and V), as V4L2 lays out NV12 and YU12.
func copyFrame(dst [][]byte, of v4l2.QueueFormat, pix media.PixelFormat, f *media.VideoFrame) ([]int, error) {
	w, h := f.Format.Width, f.Format.Height
	cw, ch := w/2, h/2
	if len(of.BytesPerLine) == 0 || of.BytesPerLine[0] < w {
		return nil, fmt.Errorf("encoder line length %v for width %d", of.BytesPerLine, w)
	}
	// Colour planes of the destination: slices, strides, rows.
	type plane struct {
		b      []byte
		stride int
	}
	var planes []plane
	used := make([]int, len(dst))
	ys := of.BytesPerLine[0]
	// Lines per plane in the driver's layout: its height may be padded.
	lumaRows := of.Height
	nplanes := 3
	if pix == media.PixelFormatNV12 {
		nplanes = 2
	}
	if len(dst) == 1 {
		b := dst[0]
		cs := ys / 2
		if pix == media.PixelFormatNV12 {
			cs = ys
		}
		off := 0
		for p := 0; p < nplanes; p++ {
			s, rows := ys, lumaRows
			if p > 0 {
				s, rows = cs, lumaRows/2
			}
			if off+s*rows > len(b) {
				return nil, fmt.Errorf("encoder buffer of %d bytes too small for %dx%d", len(b), of.Width, of.Height)
			}
			planes = append(planes, plane{b[off : off+s*rows], s})
			off += s * rows
		}
		used[0] = off
	} else {
		if len(dst) < nplanes {
			return nil, fmt.Errorf("encoder gave %d memory planes, %v needs %d", len(dst), pix, nplanes)
		}
		for p := 0; p < nplanes; p++ {
			s := ys
			if p < len(of.BytesPerLine) && of.BytesPerLine[p] > 0 {
				s = of.BytesPerLine[p]
			}
			planes = append(planes, plane{dst[p], s})
			rows := lumaRows
			if p > 0 {
				rows = lumaRows / 2
			}
			used[p] = min(s*rows, len(dst[p]))
		}
	}
	rows := func(dp plane, src []byte, sstride, width, height int) {
		for y := 0; y < height; y++ {
			copy(dp.b[y*dp.stride:y*dp.stride+width], src[y*sstride:y*sstride+width])
		}
	}
	rows(planes[0], f.Planes[0], f.Strides[0], w, h)
	switch {
	case f.Format.Pixel == pix && pix == media.PixelFormatNV12:
		rows(planes[1], f.Planes[1], f.Strides[1], w, ch)
	case f.Format.Pixel == pix:
		rows(planes[1], f.Planes[1], f.Strides[1], cw, ch)
		rows(planes[2], f.Planes[2], f.Strides[2], cw, ch)
	case pix == media.PixelFormatNV12: // I420 in: interleave U and V
		for y := 0; y < ch; y++ {
			d := planes[1].b[y*planes[1].stride:]
			u, v := f.Planes[1][y*f.Strides[1]:], f.Planes[2][y*f.Strides[2]:]
			for x := 0; x < cw; x++ {
				d[2*x], d[2*x+1] = u[x], v[x]
			}
		}
	default: // NV12 in: split UV
		for y := 0; y < ch; y++ {
			s := f.Planes[1][y*f.Strides[1]:]
			u, v := planes[1].b[y*planes[1].stride:], planes[2].b[y*planes[2].stride:]
			for x := 0; x < cw; x++ {
				u[x], v[x] = s[2*x], s[2*x+1]
			}
		}
	}
	return used, nil
}

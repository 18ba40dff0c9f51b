package capture

import (
	"github.com/glassagent/glassagent/media"
)

// Colour bars (75 %), BT.601 limited range: white, yellow, cyan, green,
// magenta, red, blue, black.
var barsYUV = [8][3]byte{
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198}, {65, 100, 212}, {35, 212, 114}, {16, 128, 128},
}

func (p *Pattern) makeBackground() {
	w := p.format.Width
	p.bg = make([]byte, w)
	p.bgU = make([]byte, w/2)
	p.bgV = make([]byte, w/2)
	for x := 0; x < w; x++ {
		c := barsYUV[x*8/w]
		p.bg[x] = c[0]
		if x%2 == 0 {
			p.bgU[x/2] = c[1]
			p.bgV[x/2] = c[2]
		}
	}
}

// draw paints frame seq: the bars scrolled by 4 pixels a frame, a bouncing
// box, and the counter and clock in a black strip at the top.
func (p *Pattern) draw(f *media.VideoFrame, seq uint64) {
	w, h := p.format.Width, p.format.Height
	off := int(seq*4) % w
	off &^= 1 // keep chroma aligned
	y := f.Planes[0]
	for row := 0; row < h; row++ {
		line := y[row*w : row*w+w]
		n := copy(line, p.bg[off:])
		copy(line[n:], p.bg[:off])
	}
	cw, ch := w/2, h/2
	coff := off / 2
	switch p.format.Pixel {
	case media.PixelFormatI420:
		u, v := f.Planes[1], f.Planes[2]
		for row := 0; row < ch; row++ {
			lu, lv := u[row*cw:row*cw+cw], v[row*cw:row*cw+cw]
			n := copy(lu, p.bgU[coff:])
			copy(lu[n:], p.bgU[:coff])
			n = copy(lv, p.bgV[coff:])
			copy(lv[n:], p.bgV[:coff])
		}
	case media.PixelFormatNV12:
		uv := f.Planes[1]
		for row := 0; row < ch; row++ {
			line := uv[row*w : row*w+w]
			for i := 0; i < cw; i++ {
				j := (i + coff) % cw
				line[2*i] = p.bgU[j]
				line[2*i+1] = p.bgV[j]
			}
		}
	}

	if p.noise > 0 {
		p.addNoise(y[:w*h])
	}

	// A white box bouncing diagonally: motion the encoder has to work for.
	bs := h / 6
	if bs < 4 {
		bs = 4
	}
	bx := bounce(int(seq*6), w-bs)
	by := bounce(int(seq*4), h-bs)
	p.fillRect(f, bx, by, bs, bs, 235, 128, 128)

	// Counter and clock, in a black strip at the top.
	scale := h / 120
	if scale < 1 {
		scale = 1
	}
	var text [32]byte
	t := appendCounter(text[:0], seq)
	t = append(t, ' ', ' ')
	t = appendClock(t, f.Captured.Hour(), f.Captured.Minute(), f.Captured.Second(), f.Captured.Nanosecond()/1e6)
	stripH := (glyphH + 2) * scale
	stripW := (len(t)*(glyphW+1) + 1) * scale
	if stripW > w {
		stripW = w
	}
	if stripH > h {
		stripH = h
	}
	p.fillRect(f, 0, 0, stripW&^1, stripH&^1, 16, 128, 128)
	p.drawText(f, scale, scale, scale, t)
}

// addNoise adds uniform noise in [-noise, noise] to every luma sample,
// clamped to the limited range. It draws 8 samples from each step of a
// xorshift64 generator: math/rand would cost several times as much per
// pixel (about 1 ms a 720p frame this way), and the noise needs no
// quality beyond being new in every frame, so that no motion search finds
// it in the frame before.
func (p *Pattern) addNoise(y []byte) {
	span := uint64(2*p.noise + 1)
	s := p.rng
	for i := 0; i < len(y); i += 8 {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		r := s
		for j := i; j < i+8 && j < len(y); j++ {
			// The byte scaled to the span: no division per pixel.
			v := int(y[j]) + int((r&0xff)*span>>8) - p.noise
			r >>= 8
			y[j] = byte(max(16, min(235, v)))
		}
	}
	p.rng = s
}

func bounce(pos, span int) int {
	if span <= 0 {
		return 0
	}
	pos %= 2 * span
	if pos > span {
		pos = 2*span - pos
	}
	return pos &^ 1
}

// fillRect paints an even-aligned rectangle in one colour.
func (p *Pattern) fillRect(f *media.VideoFrame, x0, y0, rw, rh int, cy, cu, cv byte) {
	w, h := p.format.Width, p.format.Height
	x1, y1 := min(x0+rw, w), min(y0+rh, h)
	yp := f.Planes[0]
	for row := y0; row < y1; row++ {
		line := yp[row*w+x0 : row*w+x1]
		for i := range line {
			line[i] = cy
		}
	}
	cw := w / 2
	for row := y0 / 2; row < y1/2; row++ {
		switch p.format.Pixel {
		case media.PixelFormatI420:
			u, v := f.Planes[1], f.Planes[2]
			for c := x0 / 2; c < x1/2; c++ {
				u[row*cw+c] = cu
				v[row*cw+c] = cv
			}
		case media.PixelFormatNV12:
			uv := f.Planes[1]
			for c := x0 / 2; c < x1/2; c++ {
				uv[row*w+2*c] = cu
				uv[row*w+2*c+1] = cv
			}
		}
	}
}

// drawText writes luma-only glyphs (white on whatever is there).
func (p *Pattern) drawText(f *media.VideoFrame, x0, y0, scale int, text []byte) {
	w, h := p.format.Width, p.format.Height
	yp := f.Planes[0]
	for i, ch := range text {
		g := glyph(ch)
		gx := x0 + i*(glyphW+1)*scale
		for gy := 0; gy < glyphH; gy++ {
			bits := g[gy]
			for bx := 0; bx < glyphW; bx++ {
				if bits&(1<<(glyphW-1-bx)) == 0 {
					continue
				}
				for sy := 0; sy < scale; sy++ {
					py := y0 + gy*scale + sy
					if py >= h {
						break
					}
					for sx := 0; sx < scale; sx++ {
						px := gx + bx*scale + sx
						if px < w {
							yp[py*w+px] = 235
						}
					}
				}
			}
		}
	}
}

func appendCounter(dst []byte, seq uint64) []byte {
	dst = append(dst, '#')
	var d [20]byte
	i := len(d)
	for n := 0; n < 6 || seq > 0; n++ {
		i--
		d[i] = byte('0' + seq%10)
		seq /= 10
	}
	return append(dst, d[i:]...)
}

func appendClock(dst []byte, hh, mm, ss, ms int) []byte {
	two := func(v int) { dst = append(dst, byte('0'+v/10), byte('0'+v%10)) }
	two(hh)
	dst = append(dst, ':')
	two(mm)
	dst = append(dst, ':')
	two(ss)
	dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return dst
}

const glyphW, glyphH = 5, 7

// 5x7 glyphs for the characters the overlay uses.
var glyphs = map[byte][glyphH]byte{
	'0': {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e},
	'1': {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
	'2': {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f},
	'3': {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
	'4': {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02},
	'5': {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
	'6': {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e},
	'7': {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	'8': {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e},
	'9': {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
	':': {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00},
	'.': {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c},
	'#': {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a},
}

func glyph(c byte) [glyphH]byte { return glyphs[c] }

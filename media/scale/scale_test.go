package scale

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// frame makes a w x h frame of pix with random content and rows padded past
// their width (as a camera's buffers are), so a scaler that ignores the
// stride reads the padding and fails the comparison.
func frame(rng *rand.Rand, pix media.PixelFormat, w, h int) *media.VideoFrame {
	const pad = 24
	fill := func(stride, rows int) []byte {
		b := make([]byte, stride*rows)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	f := &media.VideoFrame{Format: media.VideoFormat{Pixel: pix, Width: w, Height: h, FPS: 30}, PTS: 1234 * time.Millisecond, Seq: 77}
	switch pix {
	case media.PixelFormatI420:
		f.Strides = []int{w + pad, w/2 + pad, w/2 + pad + 8}
		f.Planes = [][]byte{fill(f.Strides[0], h), fill(f.Strides[1], h/2), fill(f.Strides[2], h/2)}
	case media.PixelFormatNV12:
		f.Strides = []int{w + pad, w + pad}
		f.Planes = [][]byte{fill(f.Strides[0], h), fill(f.Strides[1], h/2)}
	}
	return f
}

// reference is the area average written the obvious way, in float64, one
// output sample at a time: the mean of the source over the rectangle the
// sample covers, partial pixels weighted by their covered area.
func reference(src []byte, stride, n, rows, comps, c, m, mrows int) []float64 {
	out := make([]float64, m*mrows)
	sx, sy := float64(n)/float64(m), float64(rows)/float64(mrows)
	for oy := 0; oy < mrows; oy++ {
		y0, y1 := float64(oy)*sy, float64(oy+1)*sy
		for ox := 0; ox < m; ox++ {
			x0, x1 := float64(ox)*sx, float64(ox+1)*sx
			var sum, area float64
			for y := int(y0); y < rows && float64(y) < y1; y++ {
				hy := math.Min(float64(y+1), y1) - math.Max(float64(y), y0)
				for x := int(x0); x < n && float64(x) < x1; x++ {
					hx := math.Min(float64(x+1), x1) - math.Max(float64(x), x0)
					sum += float64(src[y*stride+x*comps+c]) * hx * hy
					area += hx * hy
				}
			}
			out[oy*m+ox] = sum / area
		}
	}
	return out
}

// compare checks one plane's component against the reference: within
// half a level and a hair everywhere. The output is rounded once (the
// vertical pass keeps 8 bits of fraction), so half a level is what
// rounding alone costs; a filter off by a pixel or a tap is off by tens of
// levels on random content.
func compare(t *testing.T, name string, got []byte, gotStride int, want []float64, m, mrows, comps, c int) {
	t.Helper()
	var worst float64
	for y := 0; y < mrows; y++ {
		for x := 0; x < m; x++ {
			worst = math.Max(worst, math.Abs(float64(got[y*gotStride+x*comps+c])-want[y*m+x]))
		}
	}
	if worst > 0.52 {
		t.Errorf("%s: worst difference from the reference %.3f levels, want 0.52 at most", name, worst)
	}
}

func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := [][4]int{
		{1280, 720, 960, 540}, // the default ladder's rungs from 720p
		{1280, 720, 640, 360},
		{1280, 720, 426, 240},
		{640, 480, 320, 240}, // 2:1
		{96, 64, 96, 64},     // the same size: a copy
		{100, 60, 98, 58},    // a hair smaller: taps straddle every pixel
		{1280, 720, 1280, 360},
		{64, 64, 2, 2},
	}
	for _, pix := range []media.PixelFormat{media.PixelFormatI420, media.PixelFormatNV12} {
		for _, sz := range sizes {
			w, h, dw, dh := sz[0], sz[1], sz[2], sz[3]
			t.Run(fmt.Sprintf("%s_%dx%d_to_%dx%d", pix, w, h, dw, dh), func(t *testing.T) {
				src := frame(rng, pix, w, h)
				s, err := New(src.Format, media.VideoFormat{Pixel: pix, Width: dw, Height: dh, FPS: 30})
				if err != nil {
					t.Fatal(err)
				}
				out, err := s.Scale(src)
				if err != nil {
					t.Fatal(err)
				}
				if out.Format.Width != dw || out.Format.Height != dh || out.Format.Pixel != pix {
					t.Fatalf("output format %+v", out.Format)
				}
				if out.PTS != src.PTS || out.Seq != src.Seq {
					t.Errorf("timestamps not carried: PTS %v seq %d", out.PTS, out.Seq)
				}
				compare(t, "Y", out.Planes[0], out.Strides[0], reference(src.Planes[0], src.Strides[0], w, h, 1, 0, dw, dh), dw, dh, 1, 0)
				if pix == media.PixelFormatI420 {
					for p := 1; p <= 2; p++ {
						compare(t, fmt.Sprintf("plane %d", p), out.Planes[p], out.Strides[p],
							reference(src.Planes[p], src.Strides[p], w/2, h/2, 1, 0, dw/2, dh/2), dw/2, dh/2, 1, 0)
					}
					return
				}
				for c := 0; c < 2; c++ {
					compare(t, fmt.Sprintf("UV component %d", c), out.Planes[1], out.Strides[1],
						reference(src.Planes[1], src.Strides[1], w/2, h/2, 2, c, dw/2, dh/2), dw/2, dh/2, 2, c)
				}
			})
		}
	}
}

// A flat picture stays exactly flat (the weights of every output sum to
// one, not to one give or take a rounding), and a 2:1 shrink is the exact
// mean of each 2x2 block, rounded.
func TestFlatAndHalf(t *testing.T) {
	f := &media.VideoFrame{Format: media.VideoFormat{Pixel: media.PixelFormatI420, Width: 1280, Height: 720}}
	f.Strides = []int{1280, 640, 640}
	f.Planes = [][]byte{make([]byte, 1280*720), make([]byte, 640*360), make([]byte, 640*360)}
	for p, v := range []byte{235, 16, 128} {
		for i := range f.Planes[p] {
			f.Planes[p][i] = v
		}
	}
	for _, dst := range [][2]int{{960, 540}, {426, 240}, {854, 480}} {
		s, err := New(f.Format, media.VideoFormat{Pixel: media.PixelFormatI420, Width: dst[0], Height: dst[1]})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := s.Scale(f)
		for p, v := range []byte{235, 16, 128} {
			for i, b := range out.Planes[p] {
				if b != v {
					t.Fatalf("%dx%d plane %d sample %d: %d, want %d", dst[0], dst[1], p, i, b, v)
				}
			}
		}
	}

	rng := rand.New(rand.NewPCG(3, 4))
	src := frame(rng, media.PixelFormatNV12, 64, 32)
	s, err := New(src.Format, media.VideoFormat{Pixel: media.PixelFormatNV12, Width: 32, Height: 16})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.Scale(src)
	y, st := src.Planes[0], src.Strides[0]
	for oy := 0; oy < 16; oy++ {
		for ox := 0; ox < 32; ox++ {
			sum := int(y[2*oy*st+2*ox]) + int(y[2*oy*st+2*ox+1]) + int(y[(2*oy+1)*st+2*ox]) + int(y[(2*oy+1)*st+2*ox+1])
			if want := byte((sum + 2) / 4); out.Planes[0][oy*32+ox] != want {
				t.Fatalf("2:1 at %d,%d: %d, want the block mean %d", ox, oy, out.Planes[0][oy*32+ox], want)
			}
		}
	}
}

func TestNoAllocation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, pix := range []media.PixelFormat{media.PixelFormatI420, media.PixelFormatNV12} {
		src := frame(rng, pix, 320, 180)
		s, err := New(src.Format, media.VideoFormat{Pixel: pix, Width: 214, Height: 120})
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(20, func() { s.Scale(src) }); n != 0 {
			t.Errorf("%s: %.0f allocations per frame", pix, n)
		}
	}
}

func TestBadInput(t *testing.T) {
	i420 := func(w, h int) media.VideoFormat {
		return media.VideoFormat{Pixel: media.PixelFormatI420, Width: w, Height: h}
	}
	for _, c := range []struct {
		src, dst media.VideoFormat
	}{
		{media.VideoFormat{Pixel: media.PixelFormatYUYV, Width: 64, Height: 64}, media.VideoFormat{Pixel: media.PixelFormatYUYV, Width: 32, Height: 32}},
		{i420(64, 64), media.VideoFormat{Pixel: media.PixelFormatNV12, Width: 32, Height: 32}},
		{i420(64, 64), i420(128, 32)},
		{i420(64, 64), i420(31, 32)},
		{i420(63, 64), i420(32, 32)},
		{i420(64, 64), i420(0, 0)},
	} {
		if _, err := New(c.src, c.dst); err == nil || media.CodeOf(err) != media.CodeInvalidConfig {
			t.Errorf("%+v -> %+v: %v, want an invalid_config error", c.src, c.dst, err)
		}
	}
	s, err := New(i420(64, 64), i420(32, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := frame(rand.New(rand.NewPCG(7, 8)), media.PixelFormatI420, 64, 64)
	short := *f
	short.Planes = [][]byte{f.Planes[0][:100], f.Planes[1], f.Planes[2]}
	if _, err := s.Scale(&short); err == nil {
		t.Error("a plane too short for its rows was scaled")
	}
	other := frame(rand.New(rand.NewPCG(7, 8)), media.PixelFormatI420, 96, 64)
	if _, err := s.Scale(other); err == nil {
		t.Error("a frame of another size was scaled")
	}
}

// go test -run '^$' -bench . -benchmem ./media/scale/
func BenchmarkScale720p(b *testing.B) {
	for _, pix := range []media.PixelFormat{media.PixelFormatI420, media.PixelFormatNV12} {
		for _, dst := range [][2]int{{960, 540}, {640, 360}, {426, 240}} {
			b.Run(fmt.Sprintf("%s_to_%dx%d", pix, dst[0], dst[1]), func(b *testing.B) {
				src := frame(rand.New(rand.NewPCG(9, 10)), pix, 1280, 720)
				s, err := New(src.Format, media.VideoFormat{Pixel: pix, Width: dst[0], Height: dst[1]})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := s.Scale(src); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

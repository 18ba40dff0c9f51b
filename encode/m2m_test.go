package encode

import (
	"bytes"
	"testing"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/v4l2"
)

func TestSplitAnnexBAndParameterSets(t *testing.T) {
	sps, pps, idr, p := []byte{0x67, 1, 2}, []byte{0x68, 3}, []byte{0x65, 4, 0, 0, 5}, []byte{0x41, 6}
	stream := append(append(append([]byte{0, 0, 0, 1}, sps...), append([]byte{0, 0, 1}, pps...)...), append([]byte{0, 0, 0, 1}, idr...)...)
	got := splitAnnexB(stream)
	if len(got) != 3 || !bytes.Equal(got[0], sps) || !bytes.Equal(got[1], pps) || !bytes.Equal(got[2], idr) {
		t.Fatalf("split %x", got)
	}
	var s h264State
	nalus, key := s.unit(stream)
	if !key || len(nalus) != 3 {
		t.Fatalf("first IDR: key %v, %d NALUs", key, len(nalus))
	}
	stream[5] = 0x99 // the driver reuses its buffer: our copy must not change
	if nalus[0][1] != 1 {
		t.Error("NALUs alias the driver's buffer")
	}
	// An IDR without parameter sets gets the last ones in front.
	nalus, key = s.unit(append([]byte{0, 0, 0, 1}, idr...))
	if !key || len(nalus) != 3 || nalus[0][0] != 0x67 || nalus[1][0] != 0x68 {
		t.Fatalf("bare IDR: key %v, %x", key, nalus)
	}
	nalus, key = s.unit(append([]byte{0, 0, 1}, p...))
	if key || len(nalus) != 1 {
		t.Fatalf("P slice: key %v, %x", key, nalus)
	}
}

func TestH264Level(t *testing.T) {
	for _, c := range []struct{ w, h, fps, want int }{
		{640, 360, 30, 8}, {1280, 720, 30, 9}, {1280, 720, 60, 10}, {1920, 1080, 30, 11}, {1920, 1080, 60, 13},
	} {
		if got := h264Level(c.w, c.h, c.fps); got != c.want {
			t.Errorf("%dx%d@%d: level enum %d, want %d", c.w, c.h, c.fps, got, c.want)
		}
	}
}

func TestFWHTIntra(t *testing.T) {
	hdr := []byte("OOOO\xff\xff\xff\xff\x00\x00\x00\x03\x00\x00\x02\x80\x00\x00\x01\x68\x00\x00\x04\x00")
	if !fwhtIntra(hdr) {
		t.Error("intra flag not seen")
	}
	hdr[22] = 0
	if fwhtIntra(hdr) || fwhtIntra([]byte("short")) {
		t.Error("P-frame or garbage taken as intra")
	}
}

func TestPickRaw(t *testing.T) {
	offers := []v4l2.FormatDesc{{FourCC: v4l2.FourCCI420}, {FourCC: v4l2.FourCCNV12}}
	if c, _ := pickRaw(offers, media.PixelFormatNV12); c != v4l2.FourCCNV12 {
		t.Errorf("NV12 frames: %s", v4l2.FourCCString(c))
	}
	if c, _ := pickRaw(offers, media.PixelFormatI420); c != v4l2.FourCCI420 {
		t.Errorf("I420 frames: %s", v4l2.FourCCString(c))
	}
	if c, _ := pickRaw(offers[:1], media.PixelFormatNV12); c != v4l2.FourCCI420 {
		t.Errorf("only YU12: %s", v4l2.FourCCString(c))
	}
	if _, err := pickRaw([]v4l2.FormatDesc{{FourCC: 0x56595559}}, media.PixelFormatNV12); media.CodeOf(err) != media.CodeEncoderFailed {
		t.Errorf("no usable format: %v", err)
	}
}

// TestCopyFrame: an I420 frame copied into an NV12 OUTPUT buffer whose
// lines and height the driver padded (stride 16, 8 lines for 6).
func TestCopyFrame(t *testing.T) {
	w, h := 8, 6
	f := &media.VideoFrame{Format: media.VideoFormat{Pixel: media.PixelFormatI420, Width: w, Height: h},
		Planes: [][]byte{make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)}, Strides: []int{w, w / 2, w / 2}}
	for i := range f.Planes[0] {
		f.Planes[0][i] = byte(i)
	}
	for i := range f.Planes[1] {
		f.Planes[1][i], f.Planes[2][i] = byte(100+i), byte(200+i)
	}
	of := v4l2.QueueFormat{Width: w, Height: 8, BytesPerLine: []int{16}}
	buf := make([]byte, 16*8*3/2)
	used, err := copyFrame([][]byte{buf}, of, media.PixelFormatNV12, f)
	if err != nil || used[0] != 16*8+16*4 {
		t.Fatalf("used %v, %v", used, err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if buf[y*16+x] != byte(y*w+x) {
				t.Fatalf("Y(%d,%d) = %d", x, y, buf[y*16+x])
			}
		}
	}
	uv := buf[16*8:]
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			if uv[y*16+2*x] != byte(100+y*w/2+x) || uv[y*16+2*x+1] != byte(200+y*w/2+x) {
				t.Fatalf("UV(%d,%d) = %d,%d", x, y, uv[y*16+2*x], uv[y*16+2*x+1])
			}
		}
	}
	if _, err := copyFrame([][]byte{buf[:100]}, of, media.PixelFormatNV12, f); err == nil {
		t.Error("short buffer accepted")
	}
}

// TestImportable: a camera buffer is imported only in the encoder's exact
// layout; every difference is named.
func TestImportable(t *testing.T) {
	of := v4l2.QueueFormat{FourCC: v4l2.FourCCNV12, Width: 1280, Height: 720, BytesPerLine: []int{1280}, SizeImage: []int{1280 * 720 * 3 / 2}}
	ok := media.DMABuf{FourCC: v4l2.FourCCNV12, Width: 1280, Height: 720, BytesPerLine: []int{1280}, FDs: []int{7}, Lengths: []int{1280 * 720 * 3 / 2}}
	if why := importable(&ok, of); why != "" {
		t.Fatalf("the encoder's own layout refused: %s", why)
	}
	for name, c := range map[string]struct {
		mod  func(b *media.DMABuf)
		want string
	}{
		"fourcc":       {func(b *media.DMABuf) { b.FourCC = v4l2.FourCCI420 }, "the camera gives YU12, the encoder takes NV12"},
		"padded":       {func(b *media.DMABuf) { b.Height = 736 }, "camera buffers are 1280x736, the encoder's 1280x720"},
		"planes":       {func(b *media.DMABuf) { b.FDs, b.BytesPerLine = []int{7, 8}, []int{1280, 1280} }, "2 memory planes, the encoder wants 1"},
		"stride":       {func(b *media.DMABuf) { b.BytesPerLine = []int{1536} }, "lines of 1536 bytes, the encoder's of 1280"},
		"short buffer": {func(b *media.DMABuf) { b.Lengths = []int{1280 * 720} }, "plane 0 of 921600 bytes, the encoder needs 1382400"},
	} {
		b := ok
		c.mod(&b)
		if got := importable(&b, of); got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

// BenchmarkCopyFrame720p is what a frame costs the CPU when the encoder
// cannot import the camera's buffer: the copy that dma-buf import saves.
func BenchmarkCopyFrame720p(b *testing.B) {
	const w, h = 1280, 720
	f := &media.VideoFrame{Format: media.VideoFormat{Pixel: media.PixelFormatNV12, Width: w, Height: h},
		Planes: [][]byte{make([]byte, w*h), make([]byte, w*h/2)}, Strides: []int{w, w}}
	of := v4l2.QueueFormat{FourCC: v4l2.FourCCNV12, Width: w, Height: h, BytesPerLine: []int{w}}
	dst := [][]byte{make([]byte, w*h*3/2)}
	b.SetBytes(w * h * 3 / 2)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := copyFrame(dst, of, media.PixelFormatNV12, f); err != nil {
			b.Fatal(err)
		}
	}
}

// The hardware encoder refuses a new picture size while running, with a
// code the pipeline recognises (it then keeps the size and applies the
// rung's frame rate only), before touching the device.
func TestM2MReconfigureRefusesSize(t *testing.T) {
	e := &M2MEncoder{dev: &v4l2.Dev{Path: "/dev/video-none"}, params: media.VideoParams{Width: 1280, Height: 720, FPS: 30}}
	err := e.Reconfigure(640, 360, 30)
	if media.CodeOf(err) != media.CodeUnsupported {
		t.Fatalf("new size: %v, want an unsupported error", err)
	}
	if e.params.Width != 1280 || e.params.Height != 720 {
		t.Errorf("params changed by a refused reconfiguration: %+v", e.params)
	}
	if err := e.Reconfigure(1280, 720, 30); err != nil {
		t.Errorf("the same size and rate: %v", err)
	}
	if err := e.Reconfigure(1280, 720, 0); media.CodeOf(err) != media.CodeInvalidConfig {
		t.Errorf("0 fps: %v, want invalid_config", err)
	}
}

package capture

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// readCounter OCRs the burnt-in frame counter back out of the luma plane.
func readCounter(t *testing.T, f *media.VideoFrame) uint64 {
	t.Helper()
	w, h := f.Format.Width, f.Format.Height
	scale := max(h/120, 1)
	y := f.Planes[0]
	var n uint64
	for i := 1; i < 7; i++ { // after '#', six digits
		gx := scale + i*(glyphW+1)*scale
		var g [glyphH]byte
		for gy := 0; gy < glyphH; gy++ {
			for bx := 0; bx < glyphW; bx++ {
				px, py := gx+bx*scale, scale+gy*scale
				if px < w && y[py*w+px] > 200 {
					g[gy] |= 1 << (glyphW - 1 - bx)
				}
			}
		}
		d := -1
		for c := byte('0'); c <= '9'; c++ {
			if glyphs[c] == g {
				d = int(c - '0')
			}
		}
		if d < 0 {
			t.Fatalf("digit %d of the counter is unreadable", i)
		}
		n = n*10 + uint64(d)
	}
	return n
}

func TestPatternFrames(t *testing.T) {
	for _, pix := range []media.PixelFormat{media.PixelFormatI420, media.PixelFormatNV12} {
		t.Run(pix.String(), func(t *testing.T) {
			clock := media.NewClock()
			p, err := NewPattern(PatternConfig{Width: 320, Height: 240, FPS: 50, Pixel: pix}, clock)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx := context.Background()
			var prevPTS time.Duration = -1
			var prevLuma []byte
			for i := 0; i < 10; i++ {
				f, err := p.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if f.PTS <= prevPTS {
					t.Errorf("PTS not increasing: %v after %v", f.PTS, prevPTS)
				}
				if got := readCounter(t, f); got != f.Seq {
					t.Errorf("burnt-in counter %d, frame seq %d", got, f.Seq)
				}
				if f.PTS != time.Duration(f.Seq)*20*time.Millisecond+p.start {
					t.Errorf("frame %d PTS %v is off the 50 fps grid", f.Seq, f.PTS)
				}
				if prevLuma != nil && string(prevLuma) == string(f.Planes[0]) {
					t.Errorf("frame %d identical to the previous one: no motion", f.Seq)
				}
				prevLuma = append(prevLuma[:0], f.Planes[0]...)
				prevPTS = f.PTS
				f.Release()
			}
		})
	}
}

func TestPatternHeldBuffersSkip(t *testing.T) {
	p, err := NewPattern(PatternConfig{Width: 64, Height: 48, FPS: 100, Buffers: 2}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _ := p.Read(ctx)
	b, _ := p.Read(ctx)
	// Both buffers are out: the next frames are lost until one comes back.
	done := make(chan *media.VideoFrame)
	go func() {
		f, _ := p.Read(ctx)
		done <- f
	}()
	time.Sleep(50 * time.Millisecond)
	a.Release()
	c := <-done
	if c.Seq <= b.Seq+1 {
		t.Errorf("seq %d after %d: expected a gap while every buffer was held", c.Seq, b.Seq)
	}
	if p.Skipped() == 0 {
		t.Error("no skipped frames counted")
	}
	b.Release()
	c.Release()
	p.Close()
	if _, err := p.Read(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v, want ErrClosed", err)
	}
}

func TestPatternBadConfig(t *testing.T) {
	for _, c := range []PatternConfig{
		{Width: 0, Height: 0, FPS: 30},
		{Width: 321, Height: 240, FPS: 30},
		{Width: 320, Height: 240, FPS: 0},
		{Width: 320, Height: 240, FPS: 1000},
		{Width: 8192, Height: 240, FPS: 30},
		{Width: 320, Height: 240, FPS: 30, Pixel: media.PixelFormatYUYV},
	} {
		if _, err := NewPattern(c, media.NewClock()); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("%+v: err %v, want invalid_config", c, err)
		}
	}
}

func TestToneFrequencyAndPTS(t *testing.T) {
	for _, ch := range []int{1, 2} {
		tone, err := NewTone(ToneConfig{SampleRate: 48000, Channels: ch, Freq: 1000, Block: 5 * time.Millisecond}, media.NewClock())
		if err != nil {
			t.Fatal(err)
		}
		var samples []int16
		var next time.Duration = -1
		for i := 0; i < 40; i++ { // 200 ms
			b, err := tone.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if b.Frames() != 240 || b.Format.Channels != ch {
				t.Fatalf("block of %d frames, %d channels", b.Frames(), b.Format.Channels)
			}
			if next >= 0 && b.PTS != next {
				t.Errorf("block PTS %v, want %v (sample-count clock)", b.PTS, next)
			}
			next = b.PTS + 5*time.Millisecond
			for j := 0; j < b.Frames(); j++ {
				samples = append(samples, b.Samples[j*ch])
			}
		}
		crossings := 0
		for i := 1; i < len(samples); i++ {
			if (samples[i-1] < 0) != (samples[i] < 0) {
				crossings++
			}
		}
		freq := float64(crossings) / 2 / 0.2
		if math.Abs(freq-1000) > 10 {
			t.Errorf("%d ch: tone measured at %.1f Hz, want 1000", ch, freq)
		}
		tone.Close()
	}
}

func TestToneSilent(t *testing.T) {
	tone, err := NewTone(ToneConfig{Silent: true}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	b, err := tone.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range b.Samples {
		if s != 0 {
			t.Fatal("silent microphone produced sound")
		}
	}
}

func TestToneCancel(t *testing.T) {
	tone, _ := NewTone(ToneConfig{Block: 500 * time.Millisecond}, media.NewClock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tone.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context: %v", err)
	}
}

func BenchmarkPattern720p(b *testing.B) {
	p, _ := NewPattern(PatternConfig{Width: 1280, Height: 720, FPS: 30}, media.NewClock())
	f, _ := p.Read(context.Background())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.draw(f, uint64(i))
	}
}

// TestPatternNoise: the noisy pattern is the clean one with fresh noise of
// at most +-Noise on the background's luma, centred on zero, new in every
// frame; the box and the counter stay clean (the counter is still read
// off the picture), and chroma is untouched.
func TestPatternNoise(t *testing.T) {
	const w, h, amp = 320, 240, 4
	clean, err := NewPattern(PatternConfig{Width: w, Height: h, FPS: 30}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	noisy, err := NewPattern(PatternConfig{Width: w, Height: h, FPS: 30, Noise: amp}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fc, _ := clean.Read(ctx)
	fn, _ := noisy.Read(ctx)
	defer fc.Release()
	defer fn.Release()
	const seq = 7
	clean.draw(fc, seq)
	noisy.draw(fn, seq)
	if got := readCounter(t, fn); got != seq {
		t.Errorf("burnt-in counter read as %d under noise, want %d", got, seq)
	}
	for i := 1; i < 3; i++ {
		if string(fc.Planes[i]) != string(fn.Planes[i]) {
			t.Errorf("plane %d differs: the noise is for luma only", i)
		}
	}
	var changed, sum, n int
	counts := make(map[int]int)
	for k, c := range fc.Planes[0] {
		d := int(fn.Planes[0][k]) - int(c)
		if d < -amp || d > amp {
			t.Fatalf("pixel %d: %d in the noisy frame, %d in the clean one: beyond +-%d", k, fn.Planes[0][k], c, amp)
		}
		if c == 235 || c == 16 { // the box and the counter's strip (and clamped samples)
			continue
		}
		n++
		sum += d
		counts[d]++
		if d != 0 {
			changed++
		}
	}
	// Uniform over 2*amp+1 values: 8 in 9 samples change, each value about
	// a ninth; the box and the strip are clean.
	if changed < n*8/10 {
		t.Errorf("%d of %d background samples changed, want about 8 in 9", changed, n)
	}
	if mean := float64(sum) / float64(n); mean < -0.1 || mean > 0.1 {
		t.Errorf("noise mean %.3f, want about 0", mean)
	}
	for d := -amp; d <= amp; d++ {
		if c := counts[d]; c < n/(2*amp+1)*8/10 || c > n/(2*amp+1)*12/10 {
			t.Errorf("noise value %d in %d of %d samples, want about %d", d, c, n, n/(2*amp+1))
		}
	}
	bs := h / 6
	bx, by := bounce(seq*6, w-bs), bounce(seq*4, h-bs)
	for r := by; r < by+bs; r++ {
		if a, b := fc.Planes[0][r*w+bx:r*w+bx+bs], fn.Planes[0][r*w+bx:r*w+bx+bs]; string(a) != string(b) {
			t.Fatalf("row %d of the box has noise", r)
		}
	}
	// The same frame drawn again has new noise: nothing for a motion
	// search to find in the frame before.
	first := append([]byte(nil), fn.Planes[0]...)
	noisy.draw(fn, seq)
	same := 0
	for k := range first {
		if first[k] == fn.Planes[0][k] {
			same++
		}
	}
	if same > len(first)/2 {
		t.Errorf("%d of %d luma samples repeat when the frame is drawn again: the noise is not fresh", same, len(first))
	}
	for _, bad := range []int{-1, 65} {
		if _, err := NewPattern(PatternConfig{Width: w, Height: h, FPS: 30, Noise: bad}, media.NewClock()); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("noise %d: err %v, want invalid_config", bad, err)
		}
	}
}

func BenchmarkPattern720pNoise(b *testing.B) {
	p, _ := NewPattern(PatternConfig{Width: 1280, Height: 720, FPS: 30, Noise: 4}, media.NewClock())
	f, _ := p.Read(context.Background())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.draw(f, uint64(i))
	}
}

// A pipeline on a loaded CPU reads the synthetic sources late, so a frame
// or block is always due: a cancelled read must still end (it once did not,
// and a stopped stream's capture goroutine spun on forever).
func TestSyntheticReadCancelledWhileLate(t *testing.T) {
	p, err := NewPattern(PatternConfig{Width: 64, Height: 48, FPS: 100}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tone, err := NewTone(ToneConfig{Block: 5 * time.Millisecond}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	defer tone.Close()
	time.Sleep(50 * time.Millisecond) // several frames and blocks are due now
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f, err := p.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("pattern: read with a cancelled context gave frame %v, err %v; want context.Canceled", f != nil, err)
	}
	if b, err := tone.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("tone: read with a cancelled context gave block %v, err %v; want context.Canceled", b != nil, err)
	}
}

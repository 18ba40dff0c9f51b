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

package encode

import (
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// BenchmarkSoftwareH264_720p encodes 720p30 at 2 Mbit/s; ns/op is the CPU
// time of one frame (33 ms is the real-time budget on one core).
func BenchmarkSoftwareH264_720p(b *testing.B) {
	for _, pix := range []media.PixelFormat{media.PixelFormatI420, media.PixelFormatNV12} {
		b.Run(pix.String(), func(b *testing.B) {
			needSoftwareH264(b)
			enc, err := NewSoftwareH264(VideoConfig{Width: 1280, Height: 720, FPS: 30, Bitrate: 2_000_000})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			frames := make([]*media.VideoFrame, 30)
			for i := range frames {
				frames[i] = testFrame(1280, 720, i, pix, 0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := enc.Encode(frames[i%len(frames)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
		})
	}
}

// benchAudio feeds one codec frame per op (1024 samples for AAC, 960 for
// Opus), so ns/op and allocs/op are per access unit.
func benchAudio(b *testing.B, enc AudioEncoder, ch int) {
	frame := enc.Params().FrameSamples
	in := blocks(48000, ch, sine(48000, 0, 440, 660), time.Second, 0, frame)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blk := *in[i%len(in)]
		if _, err := enc.Encode(&blk); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkAAC(b *testing.B) {
	for _, ch := range []int{1, 2} {
		b.Run(itoa(ch)+"ch", func(b *testing.B) {
			enc, err := NewAAC(AudioConfig{SampleRate: 48000, Channels: ch, Bitrate: 64000 * ch})
			if err != nil {
				b.Fatal(err)
			}
			benchAudio(b, enc, ch)
		})
	}
}

func BenchmarkOpus(b *testing.B) {
	for _, ch := range []int{1, 2} {
		b.Run(itoa(ch)+"ch", func(b *testing.B) {
			enc, err := NewOpus(AudioConfig{SampleRate: 48000, Channels: ch, Bitrate: 48000 * ch})
			if err != nil {
				b.Fatal(err)
			}
			benchAudio(b, enc, ch)
		})
	}
}

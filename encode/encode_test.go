package encode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	aac "github.com/tphakala/go-aac"
	"github.com/tphakala/go-opus/opus"

	"github.com/glassagent/glassagent/media"
)

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (scripts/test-deps.sh installs it)", name)
		}
		t.Skipf("%s not installed; run make test", name)
	}
	return p
}

// testFrame makes an I420 or NV12 frame with a box that moves with i.
func testFrame(w, h, i int, pix media.PixelFormat) *media.VideoFrame {
	y := make([]byte, w*h)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			y[r*w+c] = byte((r + c + i*3) & 0xff)
		}
	}
	bx := (i * 7) % (w - 32)
	for r := 16; r < 48 && r < h; r++ {
		for c := bx; c < bx+32; c++ {
			y[r*w+c] = 235
		}
	}
	f := &media.VideoFrame{
		Format: media.VideoFormat{Pixel: pix, Width: w, Height: h, FPS: 30},
		PTS:    time.Duration(i) * time.Second / 30,
		Seq:    uint64(i),
	}
	c := make([]byte, w*h/2)
	for k := range c {
		c[k] = byte(128 + (k+i)%16)
	}
	if pix == media.PixelFormatNV12 {
		f.Planes, f.Strides = [][]byte{y, c}, []int{w, w}
	} else {
		f.Planes, f.Strides = [][]byte{y, c[:w*h/4], c[w*h/4:]}, []int{w, w / 2, w / 2}
	}
	return f
}

func annexB(units []*media.AccessUnit) []byte {
	var b []byte
	for _, au := range units {
		for _, n := range au.NALUs {
			b = append(b, 0, 0, 0, 1)
			b = append(b, n...)
		}
	}
	return b
}

func TestSoftwareH264(t *testing.T) {
	if !SoftwareH264Available {
		t.Skip("built without cgo")
	}
	for _, c := range []struct {
		w, h int
		pix  media.PixelFormat
	}{{320, 240, media.PixelFormatI420}, {1280, 720, media.PixelFormatNV12}} {
		t.Run(strconv.Itoa(c.w)+"x"+strconv.Itoa(c.h), func(t *testing.T) {
			enc, err := NewSoftwareH264(VideoConfig{Width: c.w, Height: c.h, FPS: 30, Bitrate: 1_000_000})
			if err != nil {
				t.Fatal(err)
			}
			var units []*media.AccessUnit
			const n = 60
			for i := 0; i < n; i++ {
				if i == 45 {
					enc.ForceKeyframe()
				}
				out, err := enc.Encode(testFrame(c.w, c.h, i, c.pix))
				if err != nil {
					t.Fatal(err)
				}
				units = append(units, out...)
			}
			if _, err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			if len(units) != n {
				t.Fatalf("%d access units for %d frames", len(units), n)
			}
			var keys []int
			for i, au := range units {
				if au.PTS != time.Duration(i)*time.Second/30 {
					t.Errorf("unit %d PTS %v", i, au.PTS)
				}
				if au.Key {
					keys = append(keys, i)
					if typ := au.NALUs[0][0] & 0x1f; typ != 7 {
						t.Errorf("IDR %d does not start with an SPS (NAL type %d)", i, typ)
					}
				}
			}
			// GOP of one second, and the forced keyframe at 45.
			if want := "[0 30 45]"; intsString(keys) != want {
				t.Errorf("keyframes at %v, want %s", keys, want)
			}
			if sps := enc.Params().SPS; len(sps) < 2 || (sps[1] != 66 && sps[1] != 77) {
				t.Errorf("profile_idc %v, want baseline (66)", sps)
			}
			path := filepath.Join(t.TempDir(), "out.h264")
			os.WriteFile(path, annexB(units), 0o644)
			out, err := exec.Command(needTool(t, "ffprobe"), "-v", "error", "-count_frames", "-select_streams", "v",
				"-show_entries", "stream=codec_name,width,height,profile,nb_read_frames", "-of", "csv=p=0", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(string(out))
			// WHIP needs constrained baseline; every frame must come out.
			want := "h264,Constrained Baseline," + strconv.Itoa(c.w) + "," + strconv.Itoa(c.h) + "," + strconv.Itoa(n)
			if got != want {
				t.Errorf("ffprobe says %q, want %q", got, want)
			}
			t.Logf("ffprobe: %s", got)
		})
	}
}

func intsString(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestSoftwareH264SetBitrate(t *testing.T) {
	if !SoftwareH264Available {
		t.Skip("built without cgo")
	}
	enc, err := NewSoftwareH264(VideoConfig{Width: 640, Height: 360, FPS: 30, Bitrate: 3_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	size := func(from int) int {
		total := 0
		for i := from; i < from+60; i++ {
			out, err := enc.Encode(testFrame(640, 360, i, media.PixelFormatI420))
			if err != nil {
				t.Fatal(err)
			}
			for _, au := range out {
				total += au.Size()
			}
		}
		return total
	}
	size(0) // settle
	high := size(60)
	if err := enc.SetBitrate(300_000); err != nil {
		t.Fatal(err)
	}
	size(120) // the rate control converges
	low := size(180)
	t.Logf("2 s at 3 Mbit/s: %d bytes; at 300 kbit/s: %d bytes", high, low)
	if low*2 > high {
		t.Errorf("lowering the bitrate tenfold only shrank output from %d to %d bytes", high, low)
	}
	if enc.Params().Bitrate != 300_000 {
		t.Errorf("Params().Bitrate = %d after SetBitrate", enc.Params().Bitrate)
	}
	if err := enc.SetBitrate(-1); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
		t.Errorf("SetBitrate(-1): %v", err)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, c := range []VideoConfig{
		{Width: 0, Height: 0, FPS: 30, Bitrate: 1e6},
		{Width: 321, Height: 240, FPS: 30, Bitrate: 1e6},
		{Width: 320, Height: 240, FPS: 0, Bitrate: 1e6},
		{Width: 320, Height: 240, FPS: 30, Bitrate: -1},
		{Width: 320, Height: 240, FPS: 30, Bitrate: 1e6, GOP: -1},
	} {
		if _, err := NewSoftwareH264(c); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range []AudioConfig{
		{SampleRate: 22050, Channels: 1, Bitrate: 64000},
		{SampleRate: 48000, Channels: 3, Bitrate: 64000},
		{SampleRate: 48000, Channels: 1, Bitrate: -5},
	} {
		if _, err := NewAAC(c); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("AAC %+v: %v", c, err)
		}
		if _, err := NewOpus(c); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("Opus %+v: %v", c, err)
		}
	}
	if _, err := NewOpus(AudioConfig{SampleRate: 44100, Channels: 1, Bitrate: 64000}); err == nil {
		t.Error("Opus at 44.1 kHz accepted")
	}
}

// tone makes blocks of a sine in 10 ms blocks.
func tone(rate, ch int, hz float64, d time.Duration) []*media.AudioBlock {
	per := rate / 100
	var out []*media.AudioBlock
	for i := 0; i < int(d/(10*time.Millisecond)); i++ {
		b := &media.AudioBlock{Format: media.AudioFormat{SampleRate: rate, Channels: ch}, PTS: time.Duration(i) * 10 * time.Millisecond}
		for j := 0; j < per; j++ {
			v := int16(8000 * math.Sin(2*math.Pi*hz*float64(i*per+j)/float64(rate)))
			for c := 0; c < ch; c++ {
				b.Samples = append(b.Samples, v)
			}
		}
		out = append(out, b)
	}
	return out
}

// zeroCrossHz estimates a tone's frequency from the middle of a signal.
func zeroCrossHz(s []int16, rate int) float64 {
	s = s[len(s)/4 : len(s)*3/4]
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / float64(rate))
}

func TestAACTone(t *testing.T) {
	for _, rate := range []int{44100, 48000} {
		enc, err := NewAAC(AudioConfig{SampleRate: rate, Channels: 2, Bitrate: 128000})
		if err != nil {
			t.Fatal(err)
		}
		var adts []byte
		var units []*media.AccessUnit
		for _, b := range tone(rate, 2, 440, 2*time.Second) {
			out, err := enc.Encode(b)
			if err != nil {
				t.Fatal(err)
			}
			units = append(units, out...)
		}
		for i, au := range units {
			// Sample-count timestamps: 1024 samples a unit, to the ns.
			step := time.Duration(int64(1024) * int64(time.Second) / int64(rate))
			if d := au.PTS - units[0].PTS - time.Duration(i)*step; i > 0 && (d < -time.Duration(i) || d > time.Duration(i)) {
				t.Fatalf("AAC unit %d PTS %v drifts %v from the sample clock", i, au.PTS, d)
			}
			adts, err = aac.AppendADTSHeader(adts, rate, 2, len(au.NALUs[0]))
			if err != nil {
				t.Fatal(err)
			}
			adts = append(adts, au.NALUs[0]...)
		}
		// Priming: the first unit is stamped a frame before the input.
		if first := units[0].PTS; first >= 0 {
			t.Errorf("first AAC PTS %v, want negative (encoder delay)", first)
		}
		path := filepath.Join(t.TempDir(), "a.aac")
		os.WriteFile(path, adts, 0o644)
		pcm, err := exec.Command(needTool(t, "ffmpeg"), "-v", "error", "-i", path, "-ac", "1", "-f", "s16le", "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		s := make([]int16, len(pcm)/2)
		binary.Read(bytes.NewReader(pcm), binary.LittleEndian, s)
		if d := float64(len(s)) / float64(rate); d < 1.9 || d > 2.1 {
			t.Errorf("%d Hz: decoded %.2f s, want 2", rate, d)
		}
		if hz := zeroCrossHz(s, rate); math.Abs(hz-440) > 5 {
			t.Errorf("%d Hz: decoded tone at %.1f Hz, want 440", rate, hz)
		}
		if len(enc.Params().Config) != 2 {
			t.Errorf("AudioSpecificConfig %x", enc.Params().Config)
		}
	}
}

func TestOpusTone(t *testing.T) {
	enc, err := NewOpus(AudioConfig{SampleRate: 48000, Channels: 1, Bitrate: 64000})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	frame := make([]int16, 960)
	var units []*media.AccessUnit
	for _, b := range tone(48000, 1, 440, time.Second) {
		out, err := enc.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		units = append(units, out...)
	}
	if len(units) != 50 {
		t.Fatalf("%d Opus packets for 1 s, want 50", len(units))
	}
	for i, au := range units {
		if i > 0 && au.PTS-units[i-1].PTS != 20*time.Millisecond {
			t.Fatalf("Opus PTS step %v", au.PTS-units[i-1].PTS)
		}
		n, err := dec.Decode(au.NALUs[0], frame)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, frame[:n]...)
	}
	if hz := zeroCrossHz(pcm, 48000); math.Abs(hz-440) > 5 {
		t.Errorf("decoded Opus tone at %.1f Hz", hz)
	}
}

func BenchmarkSoftwareH264_720p(b *testing.B) {
	if !SoftwareH264Available {
		b.Skip("built without cgo")
	}
	enc, err := NewSoftwareH264(VideoConfig{Width: 1280, Height: 720, FPS: 30, Bitrate: 2_000_000})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	frames := make([]*media.VideoFrame, 30)
	for i := range frames {
		frames[i] = testFrame(1280, 720, i, media.PixelFormatI420)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := enc.Encode(frames[i%30]); err != nil {
			b.Fatal(err)
		}
	}
}

func benchAudio(b *testing.B, enc AudioEncoder) {
	blocks := tone(48000, 1, 440, time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blk := *blocks[i%len(blocks)]
		blk.PTS = time.Duration(i) * 10 * time.Millisecond
		if _, err := enc.Encode(&blk); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/10ms-block")
}

func BenchmarkAAC(b *testing.B) {
	enc, _ := NewAAC(AudioConfig{SampleRate: 48000, Channels: 1, Bitrate: 128000})
	benchAudio(b, enc)
}

func BenchmarkOpus(b *testing.B) {
	enc, _ := NewOpus(AudioConfig{SampleRate: 48000, Channels: 1, Bitrate: 64000})
	benchAudio(b, enc)
}

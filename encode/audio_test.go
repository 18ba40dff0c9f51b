package encode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
	aac "github.com/tphakala/go-aac"
	"github.com/tphakala/go-opus/opus"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
)

// signal is per-channel audio as a function of the sample index.
type signal func(ch, i int) int16

// sine is a tone per channel (hz[ch]), amplitude 8000, starting at sample
// onset (silence before it).
func sine(rate, onset int, hz ...float64) signal {
	return func(ch, i int) int16 {
		if i < onset {
			return 0
		}
		return int16(8000 * math.Sin(2*math.Pi*hz[ch]*float64(i)/float64(rate)))
	}
}

// blocks cuts d of sig into blocks whose sizes cycle through sizes (in
// samples per channel), stamped from the sample count from base.
func blocks(rate, ch int, sig signal, d time.Duration, base time.Duration, sizes ...int) []*media.AudioBlock {
	total := int(int64(d) * int64(rate) / int64(time.Second))
	var out []*media.AudioBlock
	for i, k := 0, 0; i < total; k++ {
		n := min(sizes[k%len(sizes)], total-i)
		b := &media.AudioBlock{
			Format:  media.AudioFormat{SampleRate: rate, Channels: ch},
			PTS:     base + time.Duration(int64(i)*int64(time.Second)/int64(rate)),
			Samples: make([]int16, n*ch),
		}
		for j := 0; j < n; j++ {
			for c := 0; c < ch; c++ {
				b.Samples[j*ch+c] = sig(c, i+j)
			}
		}
		out = append(out, b)
		i += n
	}
	return out
}

func encodeAudio(t testing.TB, enc AudioEncoder, in []*media.AudioBlock) []*media.AccessUnit {
	t.Helper()
	var units []*media.AccessUnit
	for _, b := range in {
		out, err := enc.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		units = append(units, out...)
	}
	return units
}

// channel extracts one channel of interleaved PCM.
func channel(pcm []int16, chans, c int) []int16 {
	out := make([]int16, len(pcm)/chans)
	for i := range out {
		out[i] = pcm[i*chans+c]
	}
	return out
}

// toneHz finds the strongest frequency between 200 and 1000 Hz (1 Hz
// steps) in the middle half of s, away from onset and end effects, and
// returns it with the share of the signal's power that tone holds (1 for a
// pure tone) and the RMS level.
func toneHz(s []int16, rate int) (hz, purity, rms float64) {
	s = s[len(s)/4 : len(s)*3/4]
	var energy float64
	for _, v := range s {
		energy += float64(v) * float64(v)
	}
	best := 0.0
	for f := 200.0; f <= 1000; f++ {
		// Goertzel at f.
		w := 2 * math.Pi * f / float64(rate)
		coeff := 2 * math.Cos(w)
		var s1, s2 float64
		for _, v := range s {
			s1, s2 = float64(v)+coeff*s1-s2, s1
		}
		if p := s1*s1 + s2*s2 - coeff*s1*s2; p > best {
			best, hz = p, f
		}
	}
	n := float64(len(s))
	return hz, 2 * best / (n * energy), math.Sqrt(energy / n)
}

// onset returns the index of the first sample above half the tone's
// amplitude.
func onset(s []int16) int {
	for i, v := range s {
		if v > 4000 || v < -4000 {
			return i
		}
	}
	return -1
}

// checkTone checks one decoded channel: the strongest tone within 2 Hz
// of want and holding 90% of the power, at the level of an 8000-amplitude
// sine (RMS 5657) within 20%.
func checkTone(t *testing.T, what string, s []int16, rate int, want float64) {
	t.Helper()
	hz, purity, rms := toneHz(s, rate)
	if math.Abs(hz-want) > 2 || purity < 0.9 || rms < 4500 || rms > 6800 {
		t.Errorf("%s: decoded %.0f Hz (%.0f%% of the power) at RMS %.0f, want %.0f Hz at RMS ~5657", what, hz, 100*purity, rms, want)
	} else {
		t.Logf("%s: %.0f Hz (%.1f%% of the power), RMS %.0f", what, hz, 100*purity, rms)
	}
}

func ffmpegDecode(t *testing.T, path string, chans int) []int16 {
	t.Helper()
	out, err := exec.Command(mediatest.NeedTool(t, "ffmpeg"), "-v", "error", "-i", path, "-ac", itoa(chans), "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg decode %s: %v", path, err)
	}
	s := make([]int16, len(out)/2)
	binary.Read(bytes.NewReader(out), binary.LittleEndian, s)
	return s
}

func TestAAC(t *testing.T) {
	for _, c := range []struct {
		rate, ch int
		sizes    []int
	}{
		{48000, 1, []int{480}},                // 10 ms blocks
		{48000, 2, []int{1024}},               // exactly one frame a block
		{44100, 2, []int{441, 7, 1500, 2048}}, // ragged
		{44100, 1, []int{3000}},
	} {
		hz := []float64{440, 660}[:c.ch]
		t.Run(itoa(c.rate)+"x"+itoa(c.ch)+"_"+fmt.Sprint(c.sizes), func(t *testing.T) {
			enc, err := NewAAC(AudioConfig{SampleRate: c.rate, Channels: c.ch, Bitrate: 64000 * c.ch})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			p := enc.Params()
			// AudioSpecificConfig: object type 2 (LC), rate index, channels.
			idx := map[int]int{48000: 3, 44100: 4}[c.rate]
			if want := []byte{byte(2<<3 | idx>>1), byte(idx&1<<7 | c.ch<<3)}; !bytes.Equal(p.Config, want) {
				t.Errorf("AudioSpecificConfig %x, want %x", p.Config, want)
			}
			if p.Codec != media.CodecAAC || p.FrameSamples != 1024 || p.SampleRate != c.rate || p.Channels != c.ch {
				t.Errorf("Params %+v", p)
			}
			// 2 s starting at PTS 5 s, the tone from 0.5 s in.
			const base = 5 * time.Second
			units := encodeAudio(t, enc, blocks(c.rate, c.ch, sine(c.rate, c.rate/2, hz...), 2*time.Second, base, c.sizes...))
			in := 2 * c.rate
			if want := in/1024 - 1; len(units) != want {
				t.Fatalf("%d units for %d samples, want %d (one frame primes)", len(units), in, want)
			}
			var adts []byte
			for k, au := range units {
				// Unit k decodes to input samples from (k-1)*1024.
				want := base + time.Duration(int64(k-1)*1024*int64(time.Second)/int64(c.rate))
				if au.PTS != want || au.DTS != want || !au.Key || au.Codec != media.CodecAAC || len(au.NALUs) != 1 {
					t.Fatalf("unit %d: PTS %v DTS %v key %v, want PTS=DTS=%v key", k, au.PTS, au.DTS, au.Key, want)
				}
				if f := au.NALUs[0]; len(f) > 1 && f[0] == 0xFF && f[1]&0xF0 == 0xF0 {
					t.Fatalf("unit %d starts with an ADTS sync word; units must be raw", k)
				}
				adts, err = aac.AppendADTSHeader(adts, c.rate, c.ch, len(au.NALUs[0]))
				if err != nil {
					t.Fatal(err)
				}
				adts = append(adts, au.NALUs[0]...)
			}
			path := filepath.Join(t.TempDir(), "a.aac")
			if err := os.WriteFile(path, adts, 0o644); err != nil {
				t.Fatal(err)
			}
			s, ok := mediatest.Probe(t, path)["audio"]
			if !ok || s.CodecName != "aac" || s.Profile != "LC" || s.SampleRate != itoa(c.rate) || s.Channels != c.ch || s.Frames() != len(units) {
				t.Errorf("ffprobe: %+v", s)
			}
			pcm := ffmpegDecode(t, path, c.ch)
			if got, want := len(pcm)/c.ch, len(units)*1024; got != want {
				t.Errorf("decoded %d samples per channel, want %d", got, want)
			}
			for ch := 0; ch < c.ch; ch++ {
				mono := channel(pcm, c.ch, ch)
				checkTone(t, "channel "+itoa(ch), mono, c.rate, hz[ch])
				// Sync: decoded sample i plays at units[0].PTS + i/rate,
				// and the tone must start there 0.5 s after base.
				at := units[0].PTS + time.Duration(int64(onset(mono))*int64(time.Second)/int64(c.rate))
				if d := at - (base + 500*time.Millisecond); d < -2*time.Millisecond || d > 2*time.Millisecond {
					t.Errorf("channel %d: the tone starts at %v on the PTS clock, want %v (off by %v)", ch, at, base+500*time.Millisecond, d)
				}
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// writeOggOpus writes packets to an Ogg Opus file with pion's writer (its
// pre-skip is a fixed 3840 samples, which ffmpeg trims).
func writeOggOpus(t *testing.T, path string, ch int, units []*media.AccessUnit) {
	t.Helper()
	w, err := oggwriter.New(path, 48000, uint16(ch))
	if err != nil {
		t.Fatal(err)
	}
	for i, au := range units {
		pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: au.NALUs[0]}
		if err := w.WriteRTP(pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpus(t *testing.T) {
	for _, c := range []struct {
		ch    int
		sizes []int
	}{{1, []int{480}}, {2, []int{960}}, {2, []int{100, 1999, 5}}} {
		hz := []float64{440, 660}[:c.ch]
		t.Run(itoa(c.ch)+"ch_"+fmt.Sprint(c.sizes), func(t *testing.T) {
			enc, err := NewOpus(AudioConfig{SampleRate: 48000, Channels: c.ch, Bitrate: 48000 * c.ch})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			if p := enc.Params(); p.Codec != media.CodecOpus || p.FrameSamples != 960 || p.SampleRate != 48000 || p.Channels != c.ch || p.Config != nil {
				t.Errorf("Params %+v", p)
			}
			const base = 3 * time.Second
			units := encodeAudio(t, enc, blocks(48000, c.ch, sine(48000, 24000, hz...), 2*time.Second, base, c.sizes...))
			if len(units) != 100 {
				t.Fatalf("%d Opus packets for 2 s, want 100", len(units))
			}
			skip := units[0].PTS - base
			if skip >= 0 || skip < -20*time.Millisecond {
				t.Errorf("first packet at %v, want a little before %v (pre-skip)", units[0].PTS, base)
			}
			for k, au := range units {
				if want := units[0].PTS + time.Duration(k)*20*time.Millisecond; au.PTS != want || au.DTS != want || !au.Key {
					t.Fatalf("packet %d PTS %v DTS %v key %v, want %v", k, au.PTS, au.DTS, au.Key, want)
				}
			}
			// Decoded with go-opus, sample i plays at units[0].PTS + i/48k.
			dec, err := opus.NewDecoder(48000, c.ch)
			if err != nil {
				t.Fatal(err)
			}
			var pcm []int16
			frame := make([]int16, 960*c.ch)
			for _, au := range units {
				n, err := dec.Decode(au.NALUs[0], frame)
				if err != nil {
					t.Fatal(err)
				}
				pcm = append(pcm, frame[:n*c.ch]...)
			}
			for ch := 0; ch < c.ch; ch++ {
				mono := channel(pcm, c.ch, ch)
				checkTone(t, "go-opus channel "+itoa(ch), mono, 48000, hz[ch])
				at := units[0].PTS + time.Duration(onset(mono))*time.Second/48000
				if d := at - (base + 500*time.Millisecond); d < -2*time.Millisecond || d > 2*time.Millisecond {
					t.Errorf("channel %d: the tone starts at %v on the PTS clock, want %v (off by %v)", ch, at, base+500*time.Millisecond, d)
				}
			}
			// And by an independent decoder: ffmpeg reading Ogg Opus.
			path := filepath.Join(t.TempDir(), "a.opus")
			writeOggOpus(t, path, c.ch, units)
			s, ok := mediatest.Probe(t, path)["audio"]
			// ffmpeg drops the 3840 samples (4 packets) of pion's pre-skip.
			if !ok || s.CodecName != "opus" || s.Channels != c.ch || s.Frames() != len(units)-4 {
				t.Errorf("ffprobe: %+v", s)
			}
			pcm = ffmpegDecode(t, path, c.ch)
			if n := len(pcm) / c.ch; n != 2*48000-3840 {
				t.Errorf("ffmpeg decoded %d samples per channel, want %d", n, 2*48000-3840)
			}
			for ch := 0; ch < c.ch; ch++ {
				checkTone(t, "ffmpeg channel "+itoa(ch), channel(pcm, c.ch, ch), 48000, hz[ch])
			}
		})
	}
}

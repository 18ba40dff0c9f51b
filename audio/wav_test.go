package audio

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/glassagent/glassagent/media"
)

func TestWAVRoundTripAndSox(t *testing.T) {
	f := media.AudioFormat{SampleRate: 44100, Channels: 2}
	s := []int16{0, 1, -1, 32767, -32768, 1234}
	var buf bytes.Buffer
	if err := WriteWAV(&buf, f, s); err != nil {
		t.Fatal(err)
	}
	f2, s2, err := ReadWAV(bytes.NewReader(buf.Bytes()))
	if err != nil || f2 != f || !equal16(s, s2) {
		t.Fatalf("round trip: %v %+v %v", err, f2, s2)
	}
	// sox reads what we write and writes what we read (with a LIST chunk).
	if _, err := exec.LookPath("sox"); err == nil {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
		run(t, "sox", "-n", "-r", "16000", "-c", "1", "-b", "16", a, "synth", "0.1", "sine", "440")
		run(t, "sox", a, "-r", "48000", b)
		got := readWAVFile(t, b)
		if len(got) != 4800 {
			t.Errorf("sox's 0.1 s at 48 kHz read as %d samples", len(got))
		}
	}
	for _, bad := range [][]byte{nil, []byte("RIFF\x00\x00\x00\x00WAVE"), []byte("RIFX\x00\x00\x00\x00WAVEfmt ")} {
		if _, _, err := ReadWAV(bytes.NewReader(bad)); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// 8-bit PCM is refused with a clear error.
	b8 := append([]byte(nil), buf.Bytes()...)
	b8[34] = 8
	if _, _, err := ReadWAV(bytes.NewReader(b8)); err == nil {
		t.Error("8-bit WAV accepted")
	}
}

func equal16(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzReadWAV(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteWAV(&buf, media.AudioFormat{SampleRate: 48000, Channels: 1}, []int16{1, 2, 3})
	f.Add(buf.Bytes())
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x80\xbb\x00\x00\x00\xee\x02\x00\x04\x00\x10\x00data\xff\xff\xff\xff\x01\x02\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		format, s, err := ReadWAV(bytes.NewReader(b))
		if err != nil {
			return
		}
		if format.Channels < 1 || len(s)%format.Channels != 0 || len(s)*2 > len(b) {
			t.Fatalf("format %+v with %d samples from %d bytes", format, len(s), len(b))
		}
	})
}

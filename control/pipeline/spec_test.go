package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassagent/glassagent/audio"
	"github.com/glassagent/glassagent/media"
)

// TestOpenFailsCleanly: a spec that fails late in Open (after the camera,
// microphone and encoders are open) is a clear error and closes what it
// opened; the front-end cannot run noise suppression at 22050 Hz (no whole
// samples per 10 ms), and a missing recording is mic_failed.
func TestOpenFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "22k.wav")
	var b bytes.Buffer
	if err := audio.WriteWAV(&b, media.AudioFormat{SampleRate: 22050, Channels: 1}, make([]int16, 22050)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wav, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	base := Spec{Camera: "test", Width: 320, Height: 240, FPS: 15, Bitrate: 300_000, Encoder: "auto",
		AudioCodec: media.CodecAAC, SampleRate: 48000, Channels: 1, AudioBitrate: 64_000}
	for _, c := range []struct {
		mic  string
		ns   bool
		code media.Code
		msg  string
	}{
		{"file:" + wav, true, media.CodeInvalidConfig, "10 ms"},
		{"file:" + filepath.Join(dir, "missing.wav"), false, media.CodeMicFailed, "no such file"},
		{"hw:97,0", false, media.CodeMicFailed, "hw:97,0"},
	} {
		s := base
		s.Mic, s.NoiseSuppression = c.mic, c.ns
		_, err := Open(s, media.NewClock())
		if media.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("mic %s ns=%v: %v, want %s mentioning %q", c.mic, c.ns, err, c.code, c.msg)
		}
	}
	// Without the failing stage the same recording opens and resamples.
	s := base
	s.Mic = "file:" + wav
	cfg, err := Open(s, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(cfg.AudioStages, ","), "resample 22050 Hz x1 -> 48000 Hz x1") {
		t.Errorf("stages %v", cfg.AudioStages)
	}
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Error(err)
	}
}

// TestSyntheticCameraNames: "test" and "test:noise" open; any other
// "test..." is refused by Validate with what is accepted, not taken for a
// device.
func TestSyntheticCameraNames(t *testing.T) {
	base := Spec{Mic: "none", Width: 320, Height: 240, FPS: 15, Bitrate: 300_000, Encoder: "auto",
		AudioCodec: media.CodecAAC, SampleRate: 48000, Channels: 1, AudioBitrate: 64_000}
	for _, cam := range []string{"test:nois", "test:", "testing", "test:noise=4"} {
		s := base
		s.Camera = cam
		err := s.Validate()
		if media.CodeOf(err) != media.CodeInvalidConfig || !strings.Contains(err.Error(), `"test:noise"`) {
			t.Errorf("camera %q: %v, want invalid_config naming the synthetic cameras", cam, err)
		}
	}
	for _, cam := range []string{"test", "test:noise"} {
		s := base
		s.Camera = cam
		cfg, err := Open(s, media.NewClock())
		if err != nil {
			t.Fatalf("camera %q: %v", cam, err)
		}
		p, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
	}
}

package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/media"
)

// streamFlags are the capture and encoding flags shared by stream and demo.
type streamFlags struct {
	camera, mic, encoder string
	size                 string
	fps                  int
	bitrate, audioRate   string
	sampleRate, channels int
	duration             time.Duration
	json                 bool
	ns, aec              bool
}

func (f *streamFlags) register(fs *flag.FlagSet, defDuration time.Duration) {
	fs.StringVar(&f.camera, "camera", "test", `camera: "test" (synthetic pattern), "test:noise" (the same with sensor-like noise, so the encoder spends its whole bitrate) or a V4L2 device`)
	fs.StringVar(&f.mic, "mic", "test", `microphone: "test" (440 Hz tone), "none" (silence), file:RECORDING.wav (looped) or an ALSA device (hw:CARD,DEV, a card id, default)`)
	fs.StringVar(&f.encoder, "encoder", "auto", "H.264 encoder: auto, hw (V4L2 M2M) or sw (openh264)")
	fs.StringVar(&f.size, "size", "1280x720", "video size WxH")
	fs.IntVar(&f.fps, "fps", 30, "frames per second")
	fs.StringVar(&f.bitrate, "bitrate", "2M", "video bitrate (bit/s; k and M suffixes)")
	fs.StringVar(&f.audioRate, "audio-bitrate", "128k", "audio bitrate (bit/s; k suffix)")
	fs.IntVar(&f.sampleRate, "sample-rate", 48000, "audio sample rate: 44100 or 48000")
	fs.IntVar(&f.channels, "channels", 1, "audio channels: 1 or 2")
	fs.DurationVar(&f.duration, "duration", defDuration, "stop after this long (0: until SIGINT/SIGTERM)")
	fs.BoolVar(&f.ns, "ns", false, "noise suppression on the microphone")
	fs.BoolVar(&f.aec, "aec", false, "echo cancellation of what the device plays (the cues)")
	fs.BoolVar(&f.json, "json", false, "print machine-readable status lines (JSON)")
}

// spec turns the flags into a pipeline spec, validated.
func (f *streamFlags) spec(audio media.Codec) (pipeline.Spec, error) {
	w, h, err := parseSize(f.size)
	if err != nil {
		return pipeline.Spec{}, err
	}
	vb, err := parseBitrate(f.bitrate)
	if err != nil {
		return pipeline.Spec{}, fmt.Errorf("--bitrate: %w", err)
	}
	ab, err := parseBitrate(f.audioRate)
	if err != nil {
		return pipeline.Spec{}, fmt.Errorf("--audio-bitrate: %w", err)
	}
	if f.duration < 0 {
		return pipeline.Spec{}, media.Errorf(media.CodeInvalidConfig, "--duration %v: must not be negative", f.duration)
	}
	s := pipeline.Spec{
		Camera: f.camera, Mic: f.mic, Encoder: f.encoder,
		Width: w, Height: h, FPS: f.fps, Bitrate: vb,
		AudioCodec: audio, SampleRate: f.sampleRate, Channels: f.channels, AudioBitrate: ab,
		NoiseSuppression: f.ns, EchoCancellation: f.aec,
	}
	if audio == media.CodecOpus && f.sampleRate == 44100 {
		s.SampleRate = 48000 // WebRTC's Opus clock is 48 kHz whatever was asked
	}
	return s, s.Validate()
}

func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, media.Errorf(media.CodeInvalidConfig, "--size %q: want WIDTHxHEIGHT, e.g. 1280x720", s)
	}
	return w, h, nil
}

// parseBitrate reads "2000000", "2500k", "2.5M".
func parseBitrate(s string) (int, error) {
	mult := 1.0
	num := strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(num, "k"), strings.HasSuffix(num, "K"):
		mult, num = 1e3, num[:len(num)-1]
	case strings.HasSuffix(num, "M"), strings.HasSuffix(num, "m"):
		mult, num = 1e6, num[:len(num)-1]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v != v || v*mult > 1e12 || v*mult < -1e12 {
		return 0, media.Errorf(media.CodeInvalidConfig, "bitrate %q: want a number of bit/s, e.g. 2M or 2500k", s)
	}
	if v <= 0 {
		return 0, media.Errorf(media.CodeInvalidConfig, "bitrate %q: must be positive", s)
	}
	return int(v * mult), nil
}

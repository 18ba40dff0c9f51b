package pipeline

import (
	"fmt"
	"os"
	"strings"

	"github.com/glassagent/glassagent/audio"
	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media"
)

// Spec is what a stream asks of the device: which camera and microphone, and
// how to encode. The control plane and the CLI both fill it in.
type Spec struct {
	Camera string // "test" (synthetic), "test:noise" (the same with sensor-like noise) or a V4L2 device
	Mic    string // "test" (tone), "none" (silence) or an ALSA device

	Width, Height int
	FPS           int
	Bitrate       int // video, bit/s
	GOP           int // frames; 0 = one second

	AudioCodec   media.Codec // AAC or Opus: what the publisher carries
	SampleRate   int
	Channels     int
	AudioBitrate int // bit/s

	// NoiseSuppression and EchoCancellation turn on the audio front-end's
	// stages (with a high-pass filter in front of them).
	NoiseSuppression, EchoCancellation bool

	// Encoder is "auto", "hw" or "sw".
	Encoder string
}

// PatternNoise is the noise of the "test:noise" camera: +-4 is enough for
// openh264 to spend its whole target (4 Mbit/s at 720p30, where the clean
// pattern stops near 0.45) and to hold it within a few per cent, which a
// link cut to a fixed rate needs in order to bind.
const PatternNoise = 4

// Limits of what a stream may ask for. Out-of-range values are refused, never
// clamped silently.
const (
	MinBitrate      = 100_000
	MaxBitrate      = 20_000_000
	MinAudioBitrate = 16_000
	MaxAudioBitrate = 320_000
	MaxDimension    = 4096
	MinDimension    = 16
	MaxFPS          = 60
)

// Validate checks every field and returns an invalid_config error naming the
// first bad one.
func (s *Spec) Validate() error {
	bad := func(format string, args ...any) error {
		return media.Errorf(media.CodeInvalidConfig, format, args...)
	}
	switch {
	case s.Width < MinDimension || s.Height < MinDimension || s.Width > MaxDimension || s.Height > MaxDimension:
		return bad("video size %dx%d: width and height must be %d to %d", s.Width, s.Height, MinDimension, MaxDimension)
	case s.Width%2 != 0 || s.Height%2 != 0:
		return bad("video size %dx%d: width and height must be even", s.Width, s.Height)
	case s.FPS < 1 || s.FPS > MaxFPS:
		return bad("frame rate %d: must be 1 to %d", s.FPS, MaxFPS)
	case s.Bitrate < MinBitrate || s.Bitrate > MaxBitrate:
		return bad("video bitrate %d bit/s: must be %d to %d", s.Bitrate, MinBitrate, MaxBitrate)
	case s.GOP < 0 || s.GOP > 10*s.FPS:
		return bad("GOP %d frames: must be 0 (one second) to %d (ten seconds)", s.GOP, 10*s.FPS)
	case s.AudioBitrate < MinAudioBitrate || s.AudioBitrate > MaxAudioBitrate:
		return bad("audio bitrate %d bit/s: must be %d to %d", s.AudioBitrate, MinAudioBitrate, MaxAudioBitrate)
	case s.Channels != 1 && s.Channels != 2:
		return bad("audio channels %d: must be 1 or 2", s.Channels)
	case s.AudioCodec == media.CodecOpus && s.SampleRate != 48000:
		return bad("audio sample rate %d: Opus (WHIP) runs at 48000", s.SampleRate)
	case s.SampleRate != 44100 && s.SampleRate != 48000:
		return bad("audio sample rate %d: must be 44100 or 48000", s.SampleRate)
	case s.AudioCodec != media.CodecAAC && s.AudioCodec != media.CodecOpus:
		return bad("audio codec %v: must be AAC or Opus", s.AudioCodec)
	}
	switch s.Encoder {
	case "", "auto", "hw", "sw":
	default:
		return bad("encoder %q: must be auto, hw or sw", s.Encoder)
	}
	switch {
	case s.Camera == "":
		return bad("no camera given (a device, or \"test\")")
	case strings.HasPrefix(s.Camera, "test") && s.Camera != "test" && s.Camera != "test:noise":
		return bad("camera %q: the synthetic cameras are \"test\" and \"test:noise\"", s.Camera)
	}
	if s.Mic == "" {
		return bad("no microphone given (a device, \"test\" or \"none\")")
	}
	return nil
}

// closer closes what was opened so far when Open fails later: it holds the
// value itself, since Open's named result is zeroed by the failing return.
func closer[T interface{ Close() error }](c T) func() { return func() { c.Close() } }

// Open validates s and opens its sources and encoders on clock. On error
// everything opened so far is closed again.
func Open(s Spec, clock *media.Clock) (cfg Config, err error) {
	if err := s.Validate(); err != nil {
		return Config{}, err
	}
	cfg.Clock = clock
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()

	switch {
	case s.Camera == "test", s.Camera == "test:noise":
		pc := capture.PatternConfig{Width: s.Width, Height: s.Height, FPS: s.FPS}
		if s.Camera == "test:noise" {
			pc.Noise = PatternNoise
		}
		p, err := capture.NewPattern(pc, clock)
		if err != nil {
			return Config{}, err
		}
		cfg.Video = p
	case strings.HasPrefix(s.Camera, "/dev/"):
		c, err := capture.OpenCamera(s.Camera, s.Width, s.Height, s.FPS, clock)
		if err != nil {
			return Config{}, err
		}
		cfg.Video = c
	default:
		return Config{}, media.Errorf(media.CodeCameraFailed, "camera %q: want a V4L2 device (/dev/videoN), \"test\" or \"test:noise\"", s.Camera)
	}
	closers = append(closers, closer(cfg.Video))

	switch {
	case s.Mic == "test", s.Mic == "none":
		t, err := capture.NewTone(capture.ToneConfig{SampleRate: s.SampleRate, Channels: s.Channels, Silent: s.Mic == "none"}, clock)
		if err != nil {
			return Config{}, err
		}
		cfg.Audio = t
	case strings.HasPrefix(s.Mic, "file:"):
		// A WAV recording played in a loop as the microphone, paced like
		// one: for demos and the front-end's end-to-end tests.
		f, err := os.Open(strings.TrimPrefix(s.Mic, "file:"))
		if err != nil {
			return Config{}, media.Errorf(media.CodeMicFailed, "microphone %q: %v", s.Mic, err)
		}
		wf, samples, err := audio.ReadWAV(f)
		f.Close()
		if err != nil {
			return Config{}, err
		}
		t, err := capture.NewTone(capture.ToneConfig{SampleRate: wf.SampleRate, Channels: wf.Channels, Recording: samples}, clock)
		if err != nil {
			return Config{}, err
		}
		cfg.Audio = t
	default:
		// An ALSA device by name: hw:CARD,DEV, a card's id, or default.
		m, err := capture.OpenMic(s.Mic, media.AudioFormat{SampleRate: s.SampleRate, Channels: s.Channels}, clock)
		if err != nil {
			return Config{}, fmt.Errorf("microphone %q (an ALSA device, file:RECORDING.wav, \"test\" or \"none\"): %w", s.Mic, err)
		}
		cfg.Audio = m
	}
	closers = append(closers, closer(cfg.Audio))

	vc := encode.VideoConfig{Width: s.Width, Height: s.Height, FPS: s.FPS, Bitrate: s.Bitrate, GOP: s.GOP}
	if cfg.VideoEncoder, cfg.VideoEncoderInfo, err = encode.OpenH264(s.Encoder, vc); err != nil {
		return Config{}, fmt.Errorf("H.264 encoder: %w", err)
	}
	enc := cfg.VideoEncoder
	closers = append(closers, func() { enc.Close() })

	ac := encode.AudioConfig{SampleRate: s.SampleRate, Channels: s.Channels, Bitrate: s.AudioBitrate}
	switch s.AudioCodec {
	case media.CodecOpus:
		cfg.AudioEncoder, err = encode.NewOpus(ac)
	default:
		cfg.AudioEncoder, err = encode.NewAAC(ac)
	}
	if err != nil {
		return Config{}, fmt.Errorf("audio encoder: %w", err)
	}
	closers = append(closers, closer(cfg.AudioEncoder))
	// The front-end runs when a stage is asked for, or when the microphone
	// gives another rate or channel count than the encoder takes.
	ef := media.AudioFormat{SampleRate: cfg.AudioEncoder.Params().SampleRate, Channels: cfg.AudioEncoder.Params().Channels}
	if mf := cfg.Audio.Format(); mf != ef || s.NoiseSuppression || s.EchoCancellation {
		chain, err := audio.New(mf, audio.Config{
			HighPass:         s.NoiseSuppression || s.EchoCancellation,
			NoiseSuppression: s.NoiseSuppression, EchoCancellation: s.EchoCancellation,
			OutRate: ef.SampleRate, OutChannels: ef.Channels,
		})
		if err != nil {
			return Config{}, err
		}
		cfg.AudioProc, cfg.AudioStages, cfg.Echo = chain, chain.Stages(), chain.Reference()
	}
	return cfg, nil
}

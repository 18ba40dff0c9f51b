package encode

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

func TestBadVideoConfigs(t *testing.T) {
	ok := VideoConfig{Width: 320, Height: 240, FPS: 30, Bitrate: 1_000_000}
	for _, c := range []struct {
		name string
		mod  func(*VideoConfig)
		want string
	}{
		{"zero size", func(c *VideoConfig) { c.Width, c.Height = 0, 0 }, "video size 0x0"},
		{"odd width", func(c *VideoConfig) { c.Width = 321 }, "video size 321x240"},
		{"odd height", func(c *VideoConfig) { c.Height = 239 }, "video size 320x239"},
		{"negative", func(c *VideoConfig) { c.Width = -320 }, "video size -320x240"},
		{"huge", func(c *VideoConfig) { c.Width = 8192 }, "video size 8192x240"},
		{"fps 0", func(c *VideoConfig) { c.FPS = 0 }, "frame rate 0"},
		{"fps 121", func(c *VideoConfig) { c.FPS = 121 }, "frame rate 121"},
		{"bitrate 0", func(c *VideoConfig) { c.Bitrate = 0 }, "video bitrate 0"},
		{"bitrate negative", func(c *VideoConfig) { c.Bitrate = -1 }, "video bitrate -1"},
		{"bitrate huge", func(c *VideoConfig) { c.Bitrate = 60_000_000 }, "video bitrate 60000000"},
		{"negative GOP", func(c *VideoConfig) { c.GOP = -1 }, "GOP -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.mod(&cfg)
			enc, err := NewSoftwareH264(cfg)
			if enc != nil || !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: %v, want invalid_config %q", cfg, err, c.want)
			}
		})
	}
	// A good configuration: works with cgo, a clear encoder_failed without.
	enc, err := NewSoftwareH264(ok)
	if SoftwareH264Available {
		if err != nil {
			t.Fatal(err)
		}
		enc.Close()
	} else if !errors.Is(err, media.ErrCode(media.CodeEncoderFailed)) || !strings.Contains(err.Error(), "without cgo") {
		t.Errorf("without cgo: %v", err)
	}
}

func TestBadAudioConfigs(t *testing.T) {
	newAAC := func(c AudioConfig) (AudioEncoder, error) { return NewAAC(c) }
	newOpus := func(c AudioConfig) (AudioEncoder, error) { return NewOpus(c) }
	for _, c := range []struct {
		name string
		new  func(AudioConfig) (AudioEncoder, error)
		cfg  AudioConfig
		want string
	}{
		{"AAC 22050", newAAC, AudioConfig{SampleRate: 22050, Channels: 1, Bitrate: 64000}, "sample rate 22050"},
		{"AAC 0 Hz", newAAC, AudioConfig{SampleRate: 0, Channels: 1, Bitrate: 64000}, "sample rate 0"},
		{"AAC 3 ch", newAAC, AudioConfig{SampleRate: 48000, Channels: 3, Bitrate: 64000}, "channels 3"},
		{"AAC 0 ch", newAAC, AudioConfig{SampleRate: 48000, Channels: 0, Bitrate: 64000}, "channels 0"},
		{"AAC bitrate", newAAC, AudioConfig{SampleRate: 48000, Channels: 1, Bitrate: -5}, "bitrate -5"},
		{"AAC bitrate 0", newAAC, AudioConfig{SampleRate: 48000, Channels: 1}, "bitrate 0"},
		{"AAC bitrate huge", newAAC, AudioConfig{SampleRate: 44100, Channels: 2, Bitrate: 1_000_000}, "bitrate 1000000"},
		{"Opus 44100", newOpus, AudioConfig{SampleRate: 44100, Channels: 1, Bitrate: 64000}, "sample rate 44100"},
		{"Opus 3 ch", newOpus, AudioConfig{SampleRate: 48000, Channels: 3, Bitrate: 64000}, "channels 3"},
		{"Opus bitrate", newOpus, AudioConfig{SampleRate: 48000, Channels: 2, Bitrate: 100}, "bitrate 100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.new(c.cfg)
			if !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: %v, want invalid_config %q", c.cfg, err, c.want)
			}
		})
	}
}

// Blocks that do not match the encoder are refused and change nothing: the
// next good block continues the stream.
func TestBadAudioBlocks(t *testing.T) {
	for _, name := range []string{"AAC", "Opus"} {
		t.Run(name, func(t *testing.T) {
			cfg := AudioConfig{SampleRate: 48000, Channels: 2, Bitrate: 96000}
			var enc AudioEncoder
			var err error
			if name == "AAC" {
				enc, err = NewAAC(cfg)
			} else {
				enc, err = NewOpus(cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
			good := blocks(48000, 2, sine(48000, 0, 440, 440), 100*time.Millisecond, 0, 2400)
			for _, b := range []*media.AudioBlock{
				nil,
				{Format: media.AudioFormat{SampleRate: 44100, Channels: 2}, Samples: make([]int16, 882)},
				{Format: media.AudioFormat{SampleRate: 48000, Channels: 1}, Samples: make([]int16, 480)},
				{Format: media.AudioFormat{SampleRate: 48000, Channels: 2}, Samples: make([]int16, 961)}, // torn frame
			} {
				if _, err := enc.Encode(b); !errors.Is(err, media.ErrCode(media.CodeEncoderFailed)) {
					t.Errorf("block %+v: %v, want encoder_failed", b, err)
				}
			}
			units := encodeAudio(t, enc, good)
			frame := enc.Params().FrameSamples
			want := 4800 / frame
			if name == "AAC" {
				want-- // priming
			}
			if len(units) != want {
				t.Errorf("%d units from 4800 good samples after bad blocks, want %d", len(units), want)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := enc.Encode(good[0]); !errors.Is(err, media.ErrCode(media.CodeEncoderFailed)) {
				t.Errorf("Encode after Close: %v", err)
			}
		})
	}
}

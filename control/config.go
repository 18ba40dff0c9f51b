package control

import (
	"time"

	"github.com/glassagent/glassagent/publish"
)

// Config is what the stream manager runs with: devices, defaults for what
// a request leaves out, and the timers. Zero fields take the defaults in
// Defaults.
type Config struct {
	Camera  string // "test" or a V4L2 device
	Mic     string // "test", "none" or an ALSA device
	Encoder string // auto, hw, sw

	Video VideoConfig // defaults for requests
	Audio AudioConfig
	// Channels of the microphone (1 or 2).
	Channels int

	// KeepAliveTimeout stops a cloud-started stream that hears no
	// keep-alive for this long.
	KeepAliveTimeout time.Duration
	// Reconnect policy after a stream was active.
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	GiveUpAfter    time.Duration
	// StatsInterval is how often an active stream reports its stats.
	StatsInterval time.Duration
	// StopTimeout bounds a clean stop (the publisher sending what is queued).
	StopTimeout time.Duration

	Publish publish.Config
	// Cues plays the start and stop sounds; nil plays nothing.
	Cues CuePlayer
	// MinBattery refuses new streams below this battery percentage (0: no
	// check); PowerSupplyDir is where to read it (default
	// /sys/class/power_supply). A device without a battery is not checked.
	MinBattery     int
	PowerSupplyDir string

	// Adapt is the bitrate controller's setting for every stream.
	Adapt AdaptConfig

	// NoSound turns the cues off for requests that do not say (the API's
	// default is on).
	NoSound bool
}

// CuePlayer plays the start/stop cues on the device. It must not block: the
// stream never waits for a sound.
type CuePlayer interface {
	PlayStart()
	PlayStop()
}

// Defaults returns the configuration a device starts with.
func Defaults() Config {
	return Config{
		Camera: "test", Mic: "test", Encoder: "auto",
		Video:            VideoConfig{Width: 1280, Height: 720, Bitrate: 2_000_000, FrameRate: 30},
		Audio:            AudioConfig{Bitrate: 128_000, SampleRate: 48000},
		Channels:         1,
		KeepAliveTimeout: 60 * time.Second,
		BackoffInitial:   500 * time.Millisecond,
		BackoffMax:       30 * time.Second,
		GiveUpAfter:      5 * time.Minute,
		StatsInterval:    5 * time.Second,
		StopTimeout:      5 * time.Second,
		MinBattery:       10,
		Adapt:            AdaptConfig{MinBitrate: 200_000, Interval: 500 * time.Millisecond, SysRoot: "/sys", Ladder: DefaultLadder()},
	}
}

// withDefaults fills zero fields from Defaults.
func (c Config) withDefaults() Config {
	d := Defaults()
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	set(&c.Camera, d.Camera)
	set(&c.Mic, d.Mic)
	set(&c.Encoder, d.Encoder)
	if c.Video == (VideoConfig{}) {
		c.Video = d.Video
	}
	if c.Audio == (AudioConfig{}) {
		c.Audio = d.Audio
	}
	if c.Channels == 0 {
		c.Channels = d.Channels
	}
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	dur(&c.KeepAliveTimeout, d.KeepAliveTimeout)
	dur(&c.BackoffInitial, d.BackoffInitial)
	dur(&c.BackoffMax, d.BackoffMax)
	dur(&c.GiveUpAfter, d.GiveUpAfter)
	dur(&c.StatsInterval, d.StatsInterval)
	dur(&c.StopTimeout, d.StopTimeout)
	dur(&c.Adapt.Interval, d.Adapt.Interval)
	if c.Adapt.MinBitrate <= 0 {
		c.Adapt.MinBitrate = d.Adapt.MinBitrate
	}
	set(&c.Adapt.SysRoot, d.Adapt.SysRoot)
	return c
}

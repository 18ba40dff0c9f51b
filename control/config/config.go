// Package config loads glassagent's YAML configuration strictly: an unknown
// key, a wrong type or an out-of-range value stops startup with the file,
// the line and what is allowed. Secrets are never in the file: it names the
// files that hold them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/pipeline"
)

// File is the configuration file's shape; configs/glassagent.yaml documents
// every field and its default.
type File struct {
	Devices   Devices   `yaml:"devices"`
	Video     Video     `yaml:"video"`
	Audio     Audio     `yaml:"audio"`
	Cloud     Cloud     `yaml:"cloud"`
	API       API       `yaml:"api"`
	KeepAlive KeepAlive `yaml:"keepalive"`
	Reconnect Reconnect `yaml:"reconnect"`
	Sounds    Sounds    `yaml:"sounds"`
	Log       Log       `yaml:"log"`
	TLS       TLS       `yaml:"tls"`
	WHIP      WHIP      `yaml:"whip"`
	Battery   Battery   `yaml:"battery"`
}

// Battery is the low-battery refusal.
type Battery struct {
	MinLevel int    `yaml:"minLevel"` // percent; 0 turns the check off
	Path     string `yaml:"path"`     // the power_supply class directory
}

// Devices picks the hardware.
type Devices struct {
	Camera  string `yaml:"camera"`
	Mic     string `yaml:"mic"`
	Speaker string `yaml:"speaker"`
	Encoder string `yaml:"encoder"`
}

// Video holds the defaults for streams that do not say.
type Video struct {
	Width   int `yaml:"width"`
	Height  int `yaml:"height"`
	FPS     int `yaml:"fps"`
	Bitrate int `yaml:"bitrate"`
	// Adapt lets the bitrate follow the network and the device's
	// temperature and battery, between MinBitrate and the stream's own.
	Adapt      bool `yaml:"adapt"`
	MinBitrate int  `yaml:"minBitrate"`
	// Ladder is the resolution and frame-rate ladder adaptation steps
	// down when the bitrate reaches a rung's floor.
	Ladder []Rung `yaml:"ladder"`
}

// Rung is one step of the ladder; see configs/glassagent.yaml.
type Rung struct {
	Width      int `yaml:"width"`
	Height     int `yaml:"height"`
	FPS        int `yaml:"fps"`
	MinBitrate int `yaml:"minBitrate"`
}

// minAdaptBitrate is the lowest floor adaptation may be given: below a
// stream's own lowest bitrate (pipeline.MinBitrate), because the ladder's
// small rungs (240p15) are still a picture at 50 kbit/s; the encoders take
// no less.
const minAdaptBitrate = 50_000

// maxLadder is the most rungs the file may list: the controller takes the
// stream's own size and seven below it.
const maxLadder = 7

// minRungBitrate is the lowest floor a rung may set: a 240p15 picture is
// still worth 30 kbit/s or so; below 10 kbit/s it is not video.
const minRungBitrate = 10_000

// Audio holds the audio defaults.
type Audio struct {
	Bitrate    int `yaml:"bitrate"`
	SampleRate int `yaml:"sampleRate"`
	Channels   int `yaml:"channels"`
}

// Cloud is the cloud link.
type Cloud struct {
	URL       string `yaml:"url"`
	TokenFile string `yaml:"tokenFile"`
}

// API is the local API socket.
type API struct {
	Socket string `yaml:"socket"`
	Mode   string `yaml:"mode"`
}

// KeepAlive is the cloud watchdog.
type KeepAlive struct {
	Timeout Duration `yaml:"timeout"`
}

// Reconnect is the reconnect policy.
type Reconnect struct {
	Initial Duration `yaml:"initial"`
	Max     Duration `yaml:"max"`
	GiveUp  Duration `yaml:"giveUp"`
}

// Sounds turns the cues on or off by default.
type Sounds struct {
	Enabled bool `yaml:"enabled"`
}

// Log sets the log level.
type Log struct {
	Level string `yaml:"level"`
}

// TLS adds a CA for private servers.
type TLS struct {
	CAFile string `yaml:"caFile"`
}

// WHIP holds the WHIP token file.
type WHIP struct {
	TokenFile string `yaml:"tokenFile"`
}

// Duration is written "500ms", "30s", "5m"; validate checks it, with the
// line it is on.
type Duration string

// D is the duration (valid after validation).
func (d Duration) D() time.Duration {
	v, _ := time.ParseDuration(string(d))
	return v
}

// Defaults is the configuration with nothing in the file.
func Defaults() File {
	d := control.Defaults()
	return File{
		Devices: Devices{Camera: d.Camera, Mic: d.Mic, Speaker: "default", Encoder: d.Encoder},
		Video: Video{Width: d.Video.Width, Height: d.Video.Height, FPS: d.Video.FrameRate, Bitrate: d.Video.Bitrate,
			Adapt: !d.Adapt.Off, MinBitrate: d.Adapt.MinBitrate, Ladder: fileLadder(d.Adapt.Ladder)},
		Audio: Audio{Bitrate: d.Audio.Bitrate, SampleRate: d.Audio.SampleRate, Channels: d.Channels},
		API:   API{Socket: "/run/glassagent/api.sock", Mode: "0660"},
		// The same values as control.Defaults, as they read in the file.
		KeepAlive: KeepAlive{Timeout: "60s"},
		Reconnect: Reconnect{Initial: "500ms", Max: "30s", GiveUp: "5m"},
		Sounds:    Sounds{Enabled: true},
		Log:       Log{Level: "info"},
		Battery:   Battery{MinLevel: d.MinBattery, Path: control.DefaultPowerSupplyDir},
	}
}

// The environment overrides the few settings that differ from one device to
// the next: GLASSAGENT_CAMERA, GLASSAGENT_MIC, GLASSAGENT_SPEAKER,
// GLASSAGENT_ENCODER, GLASSAGENT_CLOUD_URL, GLASSAGENT_LOG_LEVEL.

// Load reads path over the defaults, applies the environment (getenv), and
// validates. Errors name the file and line.
func Load(path string, getenv func(string) string) (File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src, getenv)
}

// Parse is Load on bytes; name is used in messages.
func Parse(name string, src []byte, getenv func(string) string) (File, error) {
	f := Defaults()
	if len(bytes.TrimSpace(src)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(src), yaml.DisallowUnknownField())
		if err := dec.Decode(&f); err != nil {
			first, _, _ := strings.Cut(yaml.FormatError(err, false, false), "\n")
			return File{}, fmt.Errorf("%s:%s", name, tidy(first))
		}
	}
	if getenv != nil {
		for key, dst := range map[string]*string{
			"GLASSAGENT_CAMERA": &f.Devices.Camera, "GLASSAGENT_MIC": &f.Devices.Mic, "GLASSAGENT_SPEAKER": &f.Devices.Speaker,
			"GLASSAGENT_ENCODER": &f.Devices.Encoder, "GLASSAGENT_CLOUD_URL": &f.Cloud.URL, "GLASSAGENT_LOG_LEVEL": &f.Log.Level,
		} {
			if v := getenv(key); v != "" {
				*dst = v
			}
		}
	}
	if err := f.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return File{}, fmt.Errorf("%s:%d: %s", name, line(src, fe.path), fe.msg)
		}
		return File{}, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// Reparse validates a File changed after loading (command-line flags on
// top of the file).
func Reparse(f File) (File, error) {
	if err := f.validate(); err != nil {
		return File{}, fmt.Errorf("configuration: %w", err)
	}
	return f, nil
}

// tidy turns "[3:3] unknown field "colour"" into "3:3: unknown key "colour"".
func tidy(s string) string {
	if strings.HasPrefix(s, "[") {
		if pos, rest, ok := strings.Cut(s[1:], "] "); ok {
			rest = strings.Replace(rest, "unknown field", "unknown key", 1)
			return pos + ": " + rest
		}
	}
	return " " + s
}

// line finds the line of a YAML path ("$.video.width"), or 0.
func line(src []byte, path string) int {
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		return 0
	}
	p, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	n, err := p.FilterFile(file)
	if err != nil || n == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

type fieldError struct {
	path string // YAML path of the offending value
	msg  string
}

func (e *fieldError) Error() string { return e.msg }

func bad(path, format string, args ...any) error {
	return &fieldError{path: path, msg: strings.TrimPrefix(path, "$.") + ": " + fmt.Sprintf(format, args...)}
}

func (f *File) validate() error {
	oneOf := func(path, v string, allowed ...string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return bad(path, "%q: must be one of %s", v, strings.Join(allowed, ", "))
	}
	if err := oneOf("$.devices.encoder", f.Devices.Encoder, "auto", "hw", "sw"); err != nil {
		return err
	}
	if f.Devices.Camera == "" {
		return bad("$.devices.camera", "must name a camera (a V4L2 device or \"test\")")
	}
	if f.Devices.Mic == "" {
		return bad("$.devices.mic", "must name a microphone (an ALSA device, \"test\" or \"none\")")
	}
	v := f.Video
	switch {
	case v.Width < pipeline.MinDimension || v.Width > pipeline.MaxDimension || v.Width%2 != 0:
		return bad("$.video.width", "%d: must be even, %d to %d", v.Width, pipeline.MinDimension, pipeline.MaxDimension)
	case v.Height < pipeline.MinDimension || v.Height > pipeline.MaxDimension || v.Height%2 != 0:
		return bad("$.video.height", "%d: must be even, %d to %d", v.Height, pipeline.MinDimension, pipeline.MaxDimension)
	case v.FPS < 1 || v.FPS > pipeline.MaxFPS:
		return bad("$.video.fps", "%d: must be 1 to %d", v.FPS, pipeline.MaxFPS)
	case v.Bitrate < pipeline.MinBitrate || v.Bitrate > pipeline.MaxBitrate:
		return bad("$.video.bitrate", "%d bit/s: must be %d to %d", v.Bitrate, pipeline.MinBitrate, pipeline.MaxBitrate)
	case v.MinBitrate < minAdaptBitrate || v.MinBitrate > v.Bitrate:
		return bad("$.video.minBitrate", "%d bit/s: must be %d to video.bitrate (%d)", v.MinBitrate, minAdaptBitrate, v.Bitrate)
	}
	if err := validateLadder(v.Ladder); err != nil {
		return err
	}
	a := f.Audio
	switch {
	case a.Bitrate < pipeline.MinAudioBitrate || a.Bitrate > pipeline.MaxAudioBitrate:
		return bad("$.audio.bitrate", "%d bit/s: must be %d to %d", a.Bitrate, pipeline.MinAudioBitrate, pipeline.MaxAudioBitrate)
	case a.SampleRate != 44100 && a.SampleRate != 48000:
		return bad("$.audio.sampleRate", "%d: must be 44100 or 48000", a.SampleRate)
	case a.Channels != 1 && a.Channels != 2:
		return bad("$.audio.channels", "%d: must be 1 or 2", a.Channels)
	}
	if u := f.Cloud.URL; u != "" && !strings.HasPrefix(u, "wss://") && !strings.HasPrefix(u, "ws://") {
		return bad("$.cloud.url", "must be a ws:// or wss:// URL")
	}
	if f.Cloud.URL != "" && f.Cloud.TokenFile == "" {
		return bad("$.cloud.tokenFile", "the cloud needs a token file")
	}
	for path, file := range map[string]string{"$.cloud.tokenFile": f.Cloud.TokenFile, "$.whip.tokenFile": f.WHIP.TokenFile, "$.tls.caFile": f.TLS.CAFile} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			return bad(path, "%s: %v", file, errors.Unwrap(err))
		}
	}
	if f.Battery.MinLevel < 0 || f.Battery.MinLevel > 100 {
		return bad("$.battery.minLevel", "%d: must be 0 (no check) to 100", f.Battery.MinLevel)
	}
	if f.API.Socket == "" {
		return bad("$.api.socket", "must be a path")
	}
	if m, err := strconv.ParseUint(f.API.Mode, 8, 32); err != nil || m > 0o777 {
		return bad("$.api.mode", "%q: must be an octal mode such as \"0660\"", f.API.Mode)
	}
	durs := []struct {
		path     string
		v        Duration
		min, max time.Duration
	}{
		{"$.keepalive.timeout", f.KeepAlive.Timeout, 5 * time.Second, time.Hour},
		{"$.reconnect.initial", f.Reconnect.Initial, 10 * time.Millisecond, time.Minute},
		{"$.reconnect.max", f.Reconnect.Max, f.Reconnect.Initial.D(), 10 * time.Minute},
		{"$.reconnect.giveUp", f.Reconnect.GiveUp, time.Second, 24 * time.Hour},
	}
	for _, d := range durs {
		v, err := time.ParseDuration(string(d.v))
		if err != nil {
			return bad(d.path, "%q is not a duration (e.g. 500ms, 30s, 5m)", string(d.v))
		}
		if v < d.min || v > d.max {
			return bad(d.path, "%v: must be %v to %v", v, d.min, d.max)
		}
	}
	return oneOf("$.log.level", f.Log.Level, "debug", "info", "warn", "error")
}

// validateLadder checks each rung and that each is a step down from the
// one before: smaller in height or frame rate, larger in neither, and with
// a lower floor when both set one.
func validateLadder(l []Rung) error {
	if len(l) > maxLadder {
		return bad("$.video.ladder", "%d rungs: at most %d", len(l), maxLadder)
	}
	for i, r := range l {
		at := func(key string) string { return fmt.Sprintf("$.video.ladder[%d].%s", i, key) }
		switch {
		case r.Height < pipeline.MinDimension || r.Height > pipeline.MaxDimension || r.Height%2 != 0:
			return bad(at("height"), "%d: must be even, %d to %d", r.Height, pipeline.MinDimension, pipeline.MaxDimension)
		case r.Width != 0 && (r.Width < pipeline.MinDimension || r.Width > pipeline.MaxDimension || r.Width%2 != 0):
			return bad(at("width"), "%d: must be 0 (the stream's aspect ratio) or even, %d to %d", r.Width, pipeline.MinDimension, pipeline.MaxDimension)
		case r.FPS < 1 || r.FPS > pipeline.MaxFPS:
			return bad(at("fps"), "%d: must be 1 to %d", r.FPS, pipeline.MaxFPS)
		case r.MinBitrate != 0 && (r.MinBitrate < minRungBitrate || r.MinBitrate > pipeline.MaxBitrate):
			return bad(at("minBitrate"), "%d bit/s: must be 0 (derived) or %d to %d", r.MinBitrate, minRungBitrate, pipeline.MaxBitrate)
		}
		if i == 0 {
			continue
		}
		p := l[i-1]
		switch {
		case r.Height > p.Height || r.FPS > p.FPS || r.Width != 0 && p.Width != 0 && r.Width > p.Width:
			return bad(at("height"), "%s is larger than the rung before it (%s): each rung must step down", rungName(r), rungName(p))
		case r.Height == p.Height && r.FPS == p.FPS && r.Width == p.Width:
			return bad(at("height"), "%s repeats the rung before it", rungName(r))
		case r.MinBitrate != 0 && p.MinBitrate != 0 && r.MinBitrate >= p.MinBitrate:
			return bad(at("minBitrate"), "%d bit/s: must be below the rung before it (%d)", r.MinBitrate, p.MinBitrate)
		}
	}
	return nil
}

func rungName(r Rung) string {
	if r.Width != 0 {
		return fmt.Sprintf("%dx%d at %d fps", r.Width, r.Height, r.FPS)
	}
	return fmt.Sprintf("%dp%d", r.Height, r.FPS)
}

func fileLadder(l []control.LadderRung) []Rung {
	out := make([]Rung, 0, len(l))
	for _, r := range l {
		out = append(out, Rung{Width: r.Width, Height: r.Height, FPS: r.FPS, MinBitrate: r.MinBitrate})
	}
	return out
}

// Secret reads a secret file (a token), trimmed; empty path, empty secret.
func Secret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Manager turns the file into the stream manager's configuration.
func (f File) Manager() (control.Config, error) {
	c := control.Defaults()
	c.Camera, c.Mic, c.Encoder = f.Devices.Camera, f.Devices.Mic, f.Devices.Encoder
	c.Video = control.VideoConfig{Width: f.Video.Width, Height: f.Video.Height, Bitrate: f.Video.Bitrate, FrameRate: f.Video.FPS}
	c.Audio = control.AudioConfig{Bitrate: f.Audio.Bitrate, SampleRate: f.Audio.SampleRate}
	c.Channels = f.Audio.Channels
	c.Adapt.Off, c.Adapt.MinBitrate = !f.Video.Adapt, f.Video.MinBitrate
	c.Adapt.Ladder = make([]control.LadderRung, 0, len(f.Video.Ladder))
	for _, r := range f.Video.Ladder {
		c.Adapt.Ladder = append(c.Adapt.Ladder, control.LadderRung{Width: r.Width, Height: r.Height, FPS: r.FPS, MinBitrate: r.MinBitrate})
	}
	c.KeepAliveTimeout = f.KeepAlive.Timeout.D()
	c.BackoffInitial, c.BackoffMax, c.GiveUpAfter = f.Reconnect.Initial.D(), f.Reconnect.Max.D(), f.Reconnect.GiveUp.D()
	c.Publish.CAFile = f.TLS.CAFile
	c.NoSound = !f.Sounds.Enabled
	c.MinBattery, c.PowerSupplyDir = f.Battery.MinLevel, f.Battery.Path
	tok, err := Secret(f.WHIP.TokenFile)
	if err != nil {
		return c, err
	}
	c.Publish.BearerToken = tok
	return c, nil
}

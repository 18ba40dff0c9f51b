package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control"
)

func TestExampleFileIsTheDefaults(t *testing.T) {
	f, err := Load("../../configs/glassagent.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if f != Defaults() {
		t.Errorf("configs/glassagent.yaml differs from the defaults:\n%+v\n%+v", f, Defaults())
	}
}

func TestEmptyFileAndEnv(t *testing.T) {
	env := map[string]string{"GLASSAGENT_CAMERA": "/dev/video2", "GLASSAGENT_LOG_LEVEL": "debug"}
	f, err := Parse("empty.yaml", nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if f.Devices.Camera != "/dev/video2" || f.Log.Level != "debug" || f.Video.Width != 1280 {
		t.Errorf("%+v", f)
	}
	if _, err := Parse("e.yaml", nil, func(k string) string {
		if k == "GLASSAGENT_ENCODER" {
			return "gpu"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "devices.encoder") {
		t.Errorf("bad encoder from the environment: %v", err)
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("s3cr3t\n"), 0o600)
	cases := []struct{ src, want string }{
		{"video:\n  width: 1280\n  colour: red\n", `g.yaml:3:3: unknown key "colour"`},
		{"videos:\n  width: 1280\n", `g.yaml:1:1: unknown key "videos"`},
		{"video:\n  width: wide\n", `g.yaml:2:10: cannot unmarshal string`},
		{"video:\n  width: 1281\n", "g.yaml:2: video.width: 1281: must be even, 16 to 4096"},
		{"\n\nvideo:\n  fps: 0\n", "g.yaml:4: video.fps: 0: must be 1 to 60"},
		{"video:\n  bitrate: -1\n", "g.yaml:2: video.bitrate: -1 bit/s: must be 100000 to 20000000"},
		{"video:\n  minBitrate: 50000\n", "g.yaml:2: video.minBitrate: 50000 bit/s: must be 100000 to video.bitrate (2000000)"},
		{"video:\n  bitrate: 300000\n  minBitrate: 400000\n", "g.yaml:3: video.minBitrate: 400000 bit/s: must be 100000 to video.bitrate (300000)"},
		{"video:\n  adapt: maybe\n", "g.yaml:2:10: cannot unmarshal string into Go struct field File.Video of type bool"},
		{"audio:\n  sampleRate: 22050\n", "g.yaml:2: audio.sampleRate: 22050: must be 44100 or 48000"},
		{"keepalive:\n  timeout: soon\n", `g.yaml:2: keepalive.timeout: "soon" is not a duration`},
		{"keepalive:\n  timeout: 1ms\n", "g.yaml:2: keepalive.timeout: 1ms: must be 5s to 1h0m0s"},
		{"cloud:\n  url: wss://cloud.example/dev\n", "cloud.tokenFile: the cloud needs a token file"},
		{"cloud:\n  url: https://cloud.example\n  tokenFile: " + token + "\n", "g.yaml:2: cloud.url: must be a ws:// or wss:// URL"},
		{"cloud:\n  url: wss://c\n  tokenFile: /nonexistent/token\n", "g.yaml:3: cloud.tokenFile: /nonexistent/token: no such file or directory"},
		{"api:\n  mode: rw\n", `g.yaml:2: api.mode: "rw": must be an octal mode`},
		{"log:\n  level: loud\n", `g.yaml:2: log.level: "loud": must be one of debug, info, warn, error`},
		{"devices:\n  encoder: gpu\n", `g.yaml:2: devices.encoder: "gpu": must be one of auto, hw, sw`},
		{"battery:\n  minLevel: 120\n", "g.yaml:2: battery.minLevel: 120: must be 0 (no check) to 100"},
	}
	for _, c := range cases {
		_, err := Parse("g.yaml", []byte(c.src), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "whip-token")
	os.WriteFile(token, []byte("  tok-123 \n"), 0o600)
	f, err := Parse("g.yaml", []byte("whip:\n  tokenFile: "+token+"\nsounds:\n  enabled: false\nreconnect:\n  max: 10s\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Manager()
	if err != nil {
		t.Fatal(err)
	}
	if c.Publish.BearerToken != "tok-123" || !c.NoSound || c.BackoffMax != 10*time.Second {
		t.Errorf("manager config %+v", c)
	}
}

func FuzzParse(f *testing.F) {
	src, _ := os.ReadFile("../../configs/glassagent.yaml")
	f.Add(string(src))
	f.Add("video:\n  width: 2\n")
	f.Add("[1, 2")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := Parse("fuzz.yaml", []byte(s), nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		// Whatever parses is within range.
		if cfg.Video.Width < 16 || cfg.Video.Width%2 != 0 || cfg.Video.FPS < 1 || cfg.Audio.Channels < 1 || cfg.Audio.Channels > 2 {
			t.Fatalf("accepted %+v", cfg)
		}
	})
}

func TestDefaultsMatchTheManager(t *testing.T) {
	c, err := Defaults().Manager()
	if err != nil {
		t.Fatal(err)
	}
	d := control.Defaults()
	if c.KeepAliveTimeout != d.KeepAliveTimeout || c.BackoffInitial != d.BackoffInitial || c.BackoffMax != d.BackoffMax || c.GiveUpAfter != d.GiveUpAfter {
		t.Errorf("file defaults %+v differ from the manager's %+v", c, d)
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
	if !reflect.DeepEqual(f, Defaults()) {
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
		{"video:\n  minBitrate: 40000\n", "g.yaml:2: video.minBitrate: 40000 bit/s: must be 50000 to video.bitrate (2000000)"},
		{"video:\n  bitrate: 300000\n  minBitrate: 400000\n", "g.yaml:3: video.minBitrate: 400000 bit/s: must be 50000 to video.bitrate (300000)"},
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
		{"video:\n  ladder:\n    - {height: 540, fps: 30}\n    - {height: 361, fps: 30}\n", "g.yaml:4: video.ladder[1].height: 361: must be even, 16 to 4096"},
		{"video:\n  ladder:\n    - height: 540\n      fps: 0\n", "g.yaml:4: video.ladder[0].fps: 0: must be 1 to 60"},
		{"video:\n  ladder:\n    - {height: 540, fps: 30, width: 7}\n", "video.ladder[0].width: 7: must be 0 (the stream's aspect ratio) or even, 16 to 4096"},
		{"video:\n  ladder:\n    - {height: 360, fps: 30}\n    - {height: 540, fps: 30}\n", "g.yaml:4: video.ladder[1].height: 540p30 is larger than the rung before it (360p30): each rung must step down"},
		{"video:\n  ladder:\n    - {height: 360, fps: 15}\n    - {height: 240, fps: 30}\n", "video.ladder[1].height: 240p30 is larger than the rung before it (360p15)"},
		{"video:\n  ladder:\n    - {height: 360, fps: 15}\n    - {height: 360, fps: 15}\n", "video.ladder[1].height: 360p15 repeats the rung before it"},
		{"video:\n  ladder:\n    - {height: 540, fps: 30, minBitrate: 300000}\n    - {height: 360, fps: 30, minBitrate: 300000}\n", "video.ladder[1].minBitrate: 300000 bit/s: must be below the rung before it (300000)"},
		{"video:\n  ladder:\n    - {height: 540, fps: 30, minBitrate: 5000}\n", "video.ladder[0].minBitrate: 5000 bit/s: must be 0 (derived) or 10000 to 20000000"},
		{"video:\n  ladder: [{height: 720, fps: 30}, {height: 540, fps: 30}, {height: 480, fps: 30}, {height: 360, fps: 30}, {height: 360, fps: 20}, {height: 360, fps: 15}, {height: 240, fps: 15}, {height: 180, fps: 15}]\n", "video.ladder: 8 rungs: at most 7"},
		{"video:\n  ladder:\n    - {height: 540, frames: 30}\n", `unknown key "frames"`},
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

// The ladder: the default when the file says nothing, the file's own, and
// none at all with an empty list; each reaches the manager as written.
func TestLadder(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"", "[{0 720 30 0} {0 540 30 0} {0 360 30 0} {0 360 15 0} {0 240 15 0}]"},
		{"video:\n  ladder:\n    - {width: 854, height: 480, fps: 30, minBitrate: 400000}\n    - {height: 240, fps: 10}\n",
			"[{854 480 30 400000} {0 240 10 0}]"},
		{"video:\n  ladder: []\n", "[]"},
	} {
		f, err := Parse("g.yaml", []byte(c.src), nil)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		m, err := f.Manager()
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(m.Adapt.Ladder); got != c.want {
			t.Errorf("%q: manager ladder %s, want %s", c.src, got, c.want)
		}
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
		// Every accepted ladder steps down.
		l := cfg.Video.Ladder
		for i := 1; i < len(l); i++ {
			if l[i].Height > l[i-1].Height || l[i].FPS > l[i-1].FPS || l[i] == l[i-1] {
				t.Fatalf("accepted a ladder that does not step down: %+v", l)
			}
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

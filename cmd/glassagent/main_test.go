package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, mediatest.KnownLeaks()...)
}

// ffmpegSRTListener starts ffmpeg as an SRT listener recording to a .ts file.
func ffmpegSRTListener(t *testing.T, port int, query string) (string, *mediatest.Process) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rx.ts")
	p := mediatest.Start(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "mpegts",
		"-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener%s", port, query), "-c", "copy", "-f", "mpegts", out)
	mediatest.WaitUDPBound(t, port, 20*time.Second)
	return out, p
}

func runCmd(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestStreamSRTToFFmpeg is the spine end to end: synthetic camera and mic,
// our encoders, our SRT publisher, ffmpeg as the receiver, ffprobe as judge.
func TestStreamSRTToFFmpeg(t *testing.T) {
	cases := []struct {
		name, query, rxQuery string
	}{
		{"plain", "", ""},
		{"encrypted", "&passphrase=correct-horse-battery&pbkeylen=16", "&passphrase=correct-horse-battery&pbkeylen=16"},
		{"streamid", "&streamid=publish:glasses/cam1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port := mediatest.FreeUDPPort(t)
			out, ff := ffmpegSRTListener(t, port, c.rxQuery)
			const secs = 4
			code, stdout, stderr := runCmd(context.Background(), "stream",
				fmt.Sprintf("srt://127.0.0.1:%d?latency=200%s", port, c.query),
				"--size", "640x360", "--fps", "25", "--bitrate", "800k", "--duration", fmt.Sprintf("%ds", secs))
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "correct-horse") {
				t.Error("the passphrase was printed")
			}
			for _, want := range []string{"connecting", "active", "stopped"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("status %q never shown:\n%s", want, stdout)
				}
			}
			// ffmpeg ends when the caller closes the connection.
			ff.Wait(10 * time.Second)
			s := mediatest.Probe(t, out)
			v, a := s["video"], s["audio"]
			if v.CodecName != "h264" || v.Width != 640 || v.Height != 360 || v.RFrameRate != "25/1" {
				t.Errorf("video %+v, want h264 640x360 25/1", v)
			}
			if a.CodecName != "aac" || a.SampleRate != "48000" {
				t.Errorf("audio %+v, want aac 48000", a)
			}
			frames := float64(v.Frames())
			if want := float64(secs * 25); frames < want*0.95 || frames > want*1.05 {
				t.Errorf("%v video frames for %d s at 25 fps, want %v ±5%%", frames, secs, want)
			}
			if d := v.Start() - a.Start(); d > 0.1 || d < -0.1 {
				t.Errorf("audio and video start %.3f s apart, want within 100 ms", d)
			}
		})
	}
}

// TestStreamRTMPToFFmpeg: the whole command over RTMP; the stream key never
// shows in what the command prints.
func TestStreamRTMPToFFmpeg(t *testing.T) {
	port := mediatest.FreeTCPPort(t)
	out := filepath.Join(t.TempDir(), "rx.flv")
	const key = "sk-live-0123456789abcdef"
	rx := mediatest.Start(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1",
		"-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, key), "-c", "copy", out)
	mediatest.WaitTCPListen(t, port, 20*time.Second)
	code, stdout, stderr := runCmd(context.Background(), "stream", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, key),
		"--size", "320x240", "--fps", "20", "--bitrate", "400k", "--duration", "3s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, key) {
		t.Errorf("the stream key was printed:\n%s\n%s", stdout, stderr)
	}
	if !strings.Contains(stdout, "live/REDACTED") {
		t.Errorf("the redacted URL is not shown:\n%s", stdout)
	}
	rx.Wait(10 * time.Second)
	s := mediatest.Probe(t, out)
	if v := s["video"]; v.CodecName != "h264" || v.Width != 320 || v.Frames() < 57 || v.Frames() > 63 {
		t.Errorf("video %+v, want h264 320x240 with 60 frames ±5%%", v)
	}
	if a := s["audio"]; a.CodecName != "aac" {
		t.Errorf("audio %+v", a)
	}
}

// TestStreamWHIP: the whole command over WHIP into a pion endpoint, with a
// bearer token read from a file; the token is never printed.
func TestStreamWHIP(t *testing.T) {
	e := whiptest.New(t)
	e.Token = "whip-token-0123456789"
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(e.Token+"\n"), 0o600)
	code, stdout, stderr := runCmd(context.Background(), "stream", e.URL(), "--token-file", tokenFile,
		"--size", "320x240", "--fps", "20", "--bitrate", "400k", "--audio-bitrate", "48k", "--duration", "3s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, e.Token) {
		t.Error("the bearer token was printed")
	}
	frames, keys, opus, deletes := e.Snapshot()
	if frames < 54 || frames > 66 || keys < 2 || opus < 130 || deletes != 1 {
		t.Errorf("endpoint got %d frames (%d keyframes), %d Opus packets, %d DELETEs; want 60 ±10%%, 3, 150, 1", frames, keys, opus, deletes)
	}
	path := filepath.Join(t.TempDir(), "rx.h264")
	os.WriteFile(path, e.AnnexB(), 0o644)
	if v := mediatest.Probe(t, path)["video"]; v.CodecName != "h264" || v.Width != 320 || v.Height != 240 {
		t.Errorf("received video %+v", v)
	}
}

func TestStreamJSONStatus(t *testing.T) {
	port := mediatest.FreeUDPPort(t)
	ffmpegSRTListener(t, port, "")
	code, stdout, stderr := runCmd(context.Background(), "stream", fmt.Sprintf("srt://127.0.0.1:%d", port),
		"--size", "320x240", "--fps", "15", "--bitrate", "300k", "--duration", "3s", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var statuses []string
	sawStats := false
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var l statusLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("not a JSON status line: %q", line)
		}
		if l.Status != "" {
			statuses = append(statuses, l.Status)
		}
		if l.Stats != nil && l.Stats.FPS > 0 {
			sawStats = true
		}
	}
	if got := strings.Join(statuses, ","); got != "initializing,connecting,active,stopping,stopped" {
		t.Errorf("statuses %s", got)
	}
	if !sawStats {
		t.Error("no stats line with a frame rate")
	}
}

func TestStreamBadInput(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stream"}, 2, "Usage"},
		{[]string{"stream", "srt://127.0.0.1:9", "--size", "0x0"}, 1, "invalid_config"},
		{[]string{"stream", "srt://127.0.0.1:9", "--size", "big"}, 1, "WIDTHxHEIGHT"},
		{[]string{"stream", "srt://127.0.0.1:9", "--fps", "0"}, 1, "frame rate 0"},
		{[]string{"stream", "srt://127.0.0.1:9", "--fps", "1000"}, 1, "frame rate 1000"},
		{[]string{"stream", "srt://127.0.0.1:9", "--bitrate", "-5"}, 1, "must be positive"},
		{[]string{"stream", "srt://127.0.0.1:9", "--audio-bitrate", "lots"}, 1, "audio-bitrate"},
		{[]string{"stream", "srt://127.0.0.1:9", "--duration", "-1s"}, 1, "duration"},
		{[]string{"stream", "srt://127.0.0.1:9", "--encoder", "gpu"}, 1, "encoder"},
		{[]string{"stream", "ftp://example/x"}, 1, "unsupported_scheme"},
		{[]string{"stream", "127.0.0.1:9000"}, 1, "invalid_url"},
		{[]string{"stream", "srt://127.0.0.1:9?latencyy=20"}, 1, "invalid_url"},
		{[]string{"stream", "srt://127.0.0.1:9?passphrase=short"}, 1, "invalid_url"},
		{[]string{"stream", "srt://127.0.0.1:9?mode=listener"}, 1, "invalid_url"},
		{[]string{"stream", "srt://[::1"}, 1, "invalid_url"},
		{[]string{"stream", "rtmp://127.0.0.1/live"}, 1, "no stream key"},
		{[]string{"stream", "rtmps://127.0.0.1/live/k", "--ca-file", "/nonexistent"}, 1, "CA file"},
		{[]string{"bogus"}, 2, "unknown command"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCmd(context.Background(), c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%v: exit %d, output %q; want exit %d and %q", c.args, code, stdout+stderr, c.code, c.want)
		}
		if strings.Contains(stderr, "short") && strings.Contains(c.args[1], "passphrase=short") {
			t.Errorf("%v: passphrase echoed: %s", c.args, stderr)
		}
	}
}

// TestStreamReceiverGoesAway: the far end dies mid-stream; the command must
// notice within a few seconds and exit non-zero.
func TestStreamReceiverGoesAway(t *testing.T) {
	port := mediatest.FreeUDPPort(t)
	_, ff := ffmpegSRTListener(t, port, "")
	go func() {
		time.Sleep(3 * time.Second)
		ff.Kill()
	}()
	start := time.Now()
	code, stdout, stderr := runCmd(context.Background(), "stream", fmt.Sprintf("srt://127.0.0.1:%d", port),
		"--size", "320x240", "--fps", "15", "--bitrate", "300k", "--duration", "60s")
	if code == 0 {
		t.Fatalf("exit 0 after the receiver died:\n%s", stdout)
	}
	if !strings.Contains(stdout+stderr, "connection_lost") {
		t.Errorf("no connection_lost in the output:\n%s\n%s", stdout, stderr)
	}
	t.Logf("noticed after %v", time.Since(start)-3*time.Second)
}

func TestDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.ts")
	code, stdout, stderr := runCmd(context.Background(), "demo", "--duration", "3s", "--size", "320x240", "--fps", "20", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Summary", "frames", "time to first packet", "H.264 (software (openh264): no hardware", out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// Every frame carried its capture time; the receiver measured it. SRT
	// holds packets for its latency (120 ms here) before delivering them,
	// so no frame can arrive sooner: a smaller figure is a wrong clock.
	m := regexp.MustCompile(`capture to arrival p50 (\d+) ms, p95 (\d+) ms, max \d+ ms \((\d+) frames\)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no latency in the summary:\n%s", stdout)
	}
	p50, _ := strconv.Atoi(m[1])
	frames, _ := strconv.Atoi(m[3])
	if frames < 50 || p50 < 110 {
		t.Errorf("latency measured on %d frames, p50 %d ms (SRT latency is 120 ms)", frames, p50)
	}
	t.Logf("capture to arrival: p50 %s ms, p95 %s ms", m[1], m[2])
	// The file is playable by an independent reader.
	s := mediatest.Probe(t, out)
	if s["video"].CodecName != "h264" || s["video"].Width != 320 || s["audio"].CodecName != "aac" {
		t.Errorf("demo file streams: %+v", s)
	}
	if n := s["video"].Frames(); n < 57 || n > 63 {
		t.Errorf("demo file has %v frames for 3 s at 20 fps", n)
	}
}

func TestProbe(t *testing.T) {
	code, stdout, stderr := runCmd(context.Background(), "probe")
	if code != 0 {
		t.Fatalf("probe: %d %s", code, stderr)
	}
	for _, want := range []string{"Cameras:", "Microphones:", "Speakers:", "Hardware encoders", "Software encoder:", "Automatic selection:", "camera: ", "encoder: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("probe output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCmd(context.Background(), "version")
	if code != 0 || !strings.Contains(stdout, "glassagent") || !strings.Contains(stdout, "AAC") {
		t.Errorf("version: %d %q", code, stdout)
	}
}

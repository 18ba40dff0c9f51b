package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/api"
	"github.com/glassagent/glassagent/media/mediatest"
)

// waitDaemon waits until the daemon answers on its socket.
func waitDaemon(t *testing.T, sock string) {
	t.Helper()
	c := api.NewClient(sock)
	deadline := time.Now().Add(20 * time.Second)
	for c.Do(context.Background(), "GET", "/v1/streams", nil, nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not answer within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDaemonAndCtl runs `glassagent run` and drives it with `glassagent
// ctl`, as a person on the device would, then stops it as systemd does.
func TestDaemonAndCtl(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	ctx, cancel := context.WithCancel(context.Background())
	derr := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, []string{"--socket", sock}, derr, derr) }()
	waitDaemon(t, sock)
	ctl := func(args ...string) (int, string) {
		code, stdout, stderr := runCmd(context.Background(), append([]string{"ctl", "--socket", sock}, args...)...)
		return code, stdout + stderr
	}
	port := mediatest.FreeUDPPort(t)
	rx := filepath.Join(t.TempDir(), "rx.ts")
	mediatest.StartTo(t, rx, "srt-live-transmit", "-q", fmt.Sprintf("srt://:%d?mode=listener&passphrase=daemon-secret-1", port), "file://con")
	mediatest.WaitUDPBound(t, port, 20*time.Second)

	code, out := ctl("start", fmt.Sprintf("srt://127.0.0.1:%d?passphrase=daemon-secret-1", port), "--size", "320x240", "--fps", "15", "--bitrate", "300k", "--holder", "app.test")
	if code != 0 {
		t.Fatalf("ctl start: %d %s", code, out)
	}
	if strings.Contains(out, "daemon-secret-1") {
		t.Error("ctl printed the passphrase")
	}
	var info control.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("ctl start output: %s", out)
	}
	// A second stream: refused, with the holder named, exit 1.
	if code, out := ctl("start", "srt://127.0.0.1:1"); code != 1 || !strings.Contains(out, "camera_busy") || !strings.Contains(out, "app.test") {
		t.Errorf("second start: %d %s", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, out = ctl("status")
		if strings.Contains(out, `"status": "active"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never active: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, out := ctl("bitrate", info.StreamID, "500k"); code != 0 {
		t.Errorf("ctl bitrate: %s", out)
	}
	if code, out := ctl("keepalive", info.StreamID); code != 0 || !strings.Contains(out, `"ack": true`) {
		t.Errorf("ctl keepalive: %s", out)
	}
	// SIGTERM: the daemon stops the stream cleanly and exits without error.
	time.Sleep(time.Second)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon: %v\n%s", err, derr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop within 15 s of SIGTERM")
	}
	logs := derr.String()
	if !strings.Contains(logs, "devices probed") {
		t.Errorf("no device probe before READY in the log:\n%s", logs)
	}
	if !strings.Contains(logs, "stream stopped") {
		t.Errorf("no 'stream stopped' in the daemon log:\n%s", logs)
	}
	if strings.Contains(logs, "daemon-secret-1") {
		t.Error("the daemon logged the passphrase")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Error("socket left behind")
	}
	if code, _ := ctl("status"); code != 1 {
		t.Error("ctl status succeeded with no daemon")
	}
	if code, _ := ctl("frobnicate"); code != 2 {
		t.Error("unknown ctl command not a usage error")
	}
}

func TestDaemonBadConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "g.yaml")
	os.WriteFile(conf, []byte("video:\n  width: 1281\n"), 0o644)
	code, _, stderr := runCmd(context.Background(), "run", "--config", conf, "--socket", filepath.Join(dir, "s"))
	if code != 1 || !strings.Contains(stderr, "g.yaml:2: video.width: 1281: must be even") {
		t.Errorf("bad config: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCmd(context.Background(), "run", "--socket-mode", "rwx", "--socket", filepath.Join(dir, "s"))
	if code != 1 || !strings.Contains(stderr, "api.mode") {
		t.Errorf("bad flag: exit %d, %s", code, stderr)
	}
}

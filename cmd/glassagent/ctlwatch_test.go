package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media/mediatest"
)

// TestCtlWatchAndStop: `ctl watch` prints every event as one JSON line
// while two holders share a managed stream through `ctl start`; `ctl stop
// --holder` lets one go and the stream keeps running; `ctl stop` ends it.
func TestCtlWatchAndStop(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	dctx, stopDaemon := context.WithCancel(context.Background())
	dlog := &syncBuffer{}
	daemonDone := make(chan error, 1)
	go func() { daemonDone <- runDaemon(dctx, []string{"--socket", sock}, dlog, dlog) }()
	defer func() {
		stopDaemon()
		if err := <-daemonDone; err != nil {
			t.Errorf("daemon: %v\n%s", err, dlog.String())
		}
	}()
	waitDaemon(t, sock)
	ctl := func(args ...string) (int, string) {
		code, stdout, stderr := runCmd(context.Background(), append([]string{"ctl", "--socket", sock}, args...)...)
		return code, stdout + stderr
	}

	wctx, stopWatch := context.WithCancel(context.Background())
	watched := &syncBuffer{}
	watchDone := make(chan error, 1)
	go func() { watchDone <- runCtl(wctx, []string{"--socket", sock, "watch"}, nil, watched, watched) }()

	port := mediatest.FreeUDPPort(t)
	mediatest.StartTo(t, filepath.Join(t.TempDir(), "rx.ts"), "srt-live-transmit", "-q", fmt.Sprintf("srt://:%d?mode=listener", port), "file://con")
	mediatest.WaitUDPBound(t, port, 20*time.Second)
	url := fmt.Sprintf("srt://127.0.0.1:%d", port)
	var info control.Info
	for _, h := range []string{"app.a", "app.b"} {
		code, out := ctl("start", url, "--managed", "--holder", h, "--size", "320x240", "--fps", "15", "--bitrate", "300k", "--no-sound")
		if code != 0 {
			t.Fatalf("ctl start --holder %s: %d %s", h, code, out)
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("ctl start output: %s", out)
		}
	}
	if len(info.Holders) != 2 {
		t.Fatalf("second holder did not join: %+v", info)
	}
	waitOutput(t, watched, `"status":"active"`, 15*time.Second)

	if code, out := ctl("stop", info.StreamID, "--holder", "app.a"); code != 0 || !strings.Contains(out, `"status": "active"`) {
		t.Fatalf("ctl stop --holder app.a: %d %s", code, out)
	}
	if code, out := ctl("stop", info.StreamID, "--holder", "app.a"); code != 1 || !strings.Contains(out, "not_found") {
		t.Errorf("a holder stopping twice: %d %s", code, out)
	}
	if code, out := ctl("status"); !strings.Contains(out, `"app.b"`) || strings.Contains(out, `"app.a"`) {
		t.Fatalf("status after app.a left: %d %s", code, out)
	}
	if code, out := ctl("stop", info.StreamID); code != 0 || !strings.Contains(out, `"status": "stopped"`) {
		t.Fatalf("ctl stop: %d %s", code, out)
	}
	waitOutput(t, watched, `"status":"stopped"`, 15*time.Second)
	stopWatch()
	if err := <-watchDone; err != nil {
		t.Errorf("ctl watch ended with %v", err)
	}

	// One JSON event a line, in the order they happened.
	var statuses []string
	for _, line := range strings.Split(strings.TrimSpace(watched.String()), "\n") {
		var e control.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.StreamID != info.StreamID {
			t.Fatalf("watch line %q: %v", line, err)
		}
		if len(statuses) == 0 || statuses[len(statuses)-1] != string(e.Status) {
			statuses = append(statuses, string(e.Status))
		}
	}
	if got := strings.Join(statuses, ","); got != "initializing,connecting,active,stopping,stopped" {
		t.Errorf("watched %s", got)
	}
	if code, _ := ctl("stop"); code != 2 {
		t.Error("ctl stop without an id is not a usage error")
	}
}

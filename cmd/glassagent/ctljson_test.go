package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media/mediatest"
)

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitOutput(t *testing.T, out *syncBuffer, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in:\n%s", want, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCtlJSONMentra is a BLE/serial bridge's view: MentraOS messages in on
// stdin, one a line; replies and status out on stdout; a real RTMP receiver
// records the stream.
func TestCtlJSONMentra(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	ctx, cancel := context.WithCancel(context.Background())
	dlog := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, []string{"--socket", sock}, dlog, dlog) }()
	defer func() {
		cancel()
		<-done
	}()
	waitDaemon(t, sock)
	port := mediatest.FreeTCPPort(t)
	rec := filepath.Join(t.TempDir(), "rx.flv")
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/bridge-key-42", port)
	rx := mediatest.Start(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", url, "-c", "copy", rec)
	mediatest.WaitTCPListen(t, port, 20*time.Second)

	inR, inW := io.Pipe()
	out := &syncBuffer{}
	var errOut bytes.Buffer
	ctlDone := make(chan int, 1)
	go func() {
		ctlDone <- run(context.Background(), []string{"ctl", "--socket", sock, "json"}, inR, out, &errOut)
	}()
	fmt.Fprintf(inW, `{"type":"start_rtmp_stream","rtmpUrl":"%s","appId":"com.bridge","streamId":"b1","video":{"width":320,"height":240,"fps":15,"bitrate":500}}`+"\n", url)
	waitOutput(t, out, `"status":"streaming"`, 15*time.Second)
	fmt.Fprintln(inW, `{"type":"keep_rtmp_stream_alive","streamId":"b1","ackId":"k1"}`)
	waitOutput(t, out, `"ackId":"k1"`, 5*time.Second)
	fmt.Fprintln(inW, `{"type":"get_rtmp_status"}`)
	waitOutput(t, out, `"type":"rtmp_status_response"`, 5*time.Second)
	time.Sleep(2 * time.Second)
	fmt.Fprintln(inW, `{"type":"stop_rtmp_stream","appId":"com.bridge","streamId":"b1"}`)
	inW.Close()
	select {
	case code := <-ctlDone:
		if code != 0 {
			t.Fatalf("ctl json exit %d: %s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ctl json did not end after stdin closed and the stream stopped")
	}
	if !strings.Contains(out.String(), `"status":"stopped"`) {
		t.Errorf("no stopped status:\n%s", out.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "{") || strings.Contains(line, `"type":"stream_status"`) {
			t.Errorf("not a MentraOS JSON line: %s", line)
		}
	}
	if strings.Contains(out.String()+dlog.String(), "bridge-key-42") {
		t.Error("the stream key was printed")
	}
	rx.Wait(5 * time.Second)
	if v := mediatest.Probe(t, rec)["video"]; v.CodecName != "h264" || v.Width != 320 {
		t.Errorf("recording: %+v", v)
	}
}

package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, mediatest.KnownLeaks()...) }

func testManager(t *testing.T) *control.Manager {
	cfg := control.Defaults()
	cfg.Video = control.VideoConfig{Width: 320, Height: 240, Bitrate: 300_000, FrameRate: 15}
	m := control.NewManager(cfg, control.Publishers())
	t.Cleanup(m.Close)
	return m
}

func TestBadRequests(t *testing.T) {
	srv := httptest.NewServer(Handler(testManager(t)))
	defer srv.Close()
	big := `{"url":"` + strings.Repeat("x", MaxBody) + `"}`
	cases := []struct {
		method, path, ctype, body string
		status                    int
		code                      string
	}{
		{"POST", "/v1/streams", "text/plain", `{"url":"srt://h:1"}`, 415, "unsupported_media_type"},
		{"POST", "/v1/streams", "application/json", `{"url":`, 400, "bad_request"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","colour":"red"}`, 400, "bad_request"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1"} {}`, 400, "bad_request"},
		{"POST", "/v1/streams", "application/json", big, 413, "too_large"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","video":{"width":"wide"}}`, 400, "bad_request"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","video":{"width":0,"height":480}}`, 400, "invalid_config"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","video":{"bitrate":-5}}`, 400, "invalid_config"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","stream":{"durationLimit":-1}}`, 400, "invalid_config"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","stream":{"durationLimit":99999999}}`, 400, "invalid_config"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","kind":"borrowed"}`, 400, "invalid_config"},
		{"POST", "/v1/streams", "application/json", `{"url":"gopher://h/1"}`, 400, "unsupported_scheme"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1?latency=fast"}`, 400, "invalid_url"},
		{"POST", "/v1/streams", "application/json", `{"url":"srt://h:1","audio":{"sampleRate":16000,"noiseSuppression":true}}`, 400, "invalid_config"},
		{"DELETE", "/v1/streams/s99", "", ``, 404, "not_found"},
		{"POST", "/v1/streams/s99/keepalive", "", ``, 404, "not_found"},
		{"POST", "/v1/streams/s99/bitrate", "application/json", `{"bitrate":1000000}`, 404, "not_found"},
		{"POST", "/v1/streams/s99/bitrate", "application/json", `{"bitrate":-1}`, 400, "invalid_config"},
		{"GET", "/v2/nothing", "", ``, 404, "not_found"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e Error
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != c.status || e.Error.Code != c.code || e.Error.Message == "" {
			t.Errorf("%s %s %.60s: %d %+v, want %d %s", c.method, c.path, c.body, resp.StatusCode, e, c.status, c.code)
		}
	}
	// Nothing of that started a stream.
	resp, _ := http.Get(srv.URL + "/v1/streams")
	var list struct{ Streams []control.Info }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Streams) != 0 {
		t.Errorf("bad requests left streams: %+v", list.Streams)
	}
}

// TestSocketAndEvents runs the API on a real Unix socket: a stream started
// through it shows up in the SSE feed, and stops through it.
func TestSocketAndEvents(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := Listen(sock, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(sock); fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v", fi.Mode().Perm())
	}
	m := testManager(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, m) }()
	defer func() {
		cancel()
		<-served
	}()
	c := NewClient(sock)

	port := mediatest.FreeUDPPort(t)
	rx := filepath.Join(t.TempDir(), "rx.ts")
	mediatest.StartTo(t, rx, "srt-live-transmit", "-q", fmt.Sprintf("srt://:%d?mode=listener", port), "file://con")
	mediatest.WaitUDPBound(t, port, 20*time.Second)

	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	req, _ := http.NewRequestWithContext(evCtx, "GET", "http://glassagent/v1/events", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	statuses := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e control.Event
				json.Unmarshal([]byte(d), &e)
				statuses <- string(e.Status)
			}
		}
		close(statuses)
	}()

	var info control.Info
	if err := c.Do(ctx, "POST", "/v1/streams", control.StartRequest{URL: fmt.Sprintf("srt://127.0.0.1:%d", port), Holder: "test"}, &info); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, statuses, "active")
	err = c.Do(ctx, "POST", "/v1/streams", control.StartRequest{URL: "srt://127.0.0.1:1", Holder: "other"}, nil)
	if !errors.Is(err, media.ErrCode(media.CodeCameraBusy)) || !strings.Contains(err.Error(), "test") {
		t.Errorf("second start: %v, want camera_busy naming the holder", err)
	}
	time.Sleep(1500 * time.Millisecond) // a second of stats
	mreq, _ := http.NewRequestWithContext(ctx, "GET", "http://glassagent/metrics", nil)
	mresp, err := c.HTTP.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	metrics := string(mb)
	for _, want := range []string{"glassagent_streams 1", `glassagent_stream_state{stream="` + info.StreamID + `",kind="unmanaged",state="active"} 1`, "glassagent_stream_bitrate_bps{", "glassagent_stream_fps{"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	if err := c.Do(ctx, "POST", "/v1/streams/"+info.StreamID+"/bitrate", map[string]int{"bitrate": 500_000}, nil); err != nil {
		t.Errorf("bitrate: %v", err)
	}
	if err := c.Do(ctx, "DELETE", "/v1/streams/"+info.StreamID, nil, &info); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, statuses, "stopped")
}

func waitStatus(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case s, ok := <-ch:
			if !ok {
				t.Fatalf("event stream ended before %s", want)
			}
			if s == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %s event", want)
		}
	}
}

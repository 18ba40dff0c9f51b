package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
)

// feed collects the SSE status events of a running API.
type feed struct {
	mu     sync.Mutex
	events []control.Event
}

func watchEvents(t *testing.T, ctx context.Context, c *Client) *feed {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://glassagent/v1/events", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	f := &feed{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = name
			}
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && event == "status" {
				var e control.Event
				if err := json.Unmarshal([]byte(d), &e); err != nil {
					t.Errorf("event %s: %v", d, err)
				}
				f.mu.Lock()
				f.events = append(f.events, e)
				f.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		resp.Body.Close()
		<-done
	})
	return f
}

func (f *feed) waitFor(t *testing.T, id string, st control.Status) control.Event {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f.mu.Lock()
		for _, e := range f.events {
			if e.StreamID == id && e.Status == st {
				f.mu.Unlock()
				return e
			}
		}
		f.mu.Unlock()
	}
	t.Fatalf("stream %s never reached %s: %v", id, st, f.statuses(id))
	return control.Event{}
}

func (f *feed) statuses(id string) []control.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []control.Status
	for _, e := range f.events {
		if e.StreamID == id && (len(out) == 0 || out[len(out)-1] != e.Status) {
			out = append(out, e.Status)
		}
	}
	return out
}

// serveSocket runs the API on a real Unix socket for the test's duration.
func serveSocket(t *testing.T, m Manager) (*Client, context.Context) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := Listen(sock, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, m) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	return NewClient(sock), ctx
}

func srtListener(t *testing.T) string {
	port := mediatest.FreeUDPPort(t)
	mediatest.StartTo(t, filepath.Join(t.TempDir(), "rx.ts"), "srt-live-transmit", "-q", fmt.Sprintf("srt://:%d?mode=listener", port), "file://con")
	mediatest.WaitUDPBound(t, port, 20*time.Second)
	return fmt.Sprintf("srt://127.0.0.1:%d", port)
}

func list(t *testing.T, ctx context.Context, c *Client) []control.Info {
	t.Helper()
	var out struct{ Streams []control.Info }
	if err := c.Do(ctx, "GET", "/v1/streams", nil, &out); err != nil {
		t.Fatal(err)
	}
	return out.Streams
}

// TestScenarioSharedManaged, through the socket: three apps hold one
// managed stream, an unmanaged start meanwhile is refused naming them and
// changes nothing, and the stream runs until the third app lets go.
func TestScenarioSharedManaged(t *testing.T) {
	m := testManager(t)
	c, ctx := serveSocket(t, m)
	ev := watchEvents(t, ctx, c)
	url := srtListener(t)

	var first control.Info
	for i, h := range []string{"app.a", "app.b", "app.c"} {
		var info control.Info
		if err := c.Do(ctx, "POST", "/v1/streams", control.StartRequest{Kind: control.Managed, URL: url, Holder: h}, &info); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if i == 0 {
			first = info
		} else if info.StreamID != first.StreamID {
			t.Fatalf("%s got stream %s, want to join %s", h, info.StreamID, first.StreamID)
		}
	}
	id := first.StreamID
	ev.waitFor(t, id, control.StatusActive)

	err := c.Do(ctx, "POST", "/v1/streams", control.StartRequest{Kind: control.Unmanaged, URL: url, Holder: "app.x"}, nil)
	if !errors.Is(err, media.ErrCode(media.CodeCameraBusy)) || !strings.Contains(err.Error(), "app.a") {
		t.Fatalf("unmanaged while managed: %v, want camera_busy naming the holders", err)
	}
	l := list(t, ctx, c)
	if len(l) != 1 || l[0].StreamID != id || l[0].Kind != control.Managed || l[0].Status != control.StatusActive ||
		!slices.Equal(l[0].Holders, []string{"app.a", "app.b", "app.c"}) {
		t.Fatalf("after the refused start: %+v", l)
	}
	for _, h := range []string{"app.a", "app.b"} {
		if err := c.Do(ctx, "DELETE", "/v1/streams/"+id+"?holder="+h, nil, nil); err != nil {
			t.Fatal(err)
		}
		if l := list(t, ctx, c); len(l) != 1 || l[0].Status != control.StatusActive || slices.Contains(l[0].Holders, h) {
			t.Fatalf("after %s left: %+v", h, l)
		}
	}
	var info control.Info
	if err := c.Do(ctx, "DELETE", "/v1/streams/"+id+"?holder=app.c", nil, &info); err != nil {
		t.Fatal(err)
	}
	if info.Status != control.StatusStopped {
		t.Errorf("last holder's stop answered %s, want stopped", info.Status)
	}
	if l := list(t, ctx, c); len(l) != 0 {
		t.Fatalf("still listed after the last holder: %+v", l)
	}
	ev.waitFor(t, id, control.StatusStopped)
	if got := fmt.Sprint(ev.statuses(id)); got != "[initializing connecting active stopping stopped]" {
		t.Errorf("statuses %s", got)
	}
}

// TestScenarioLimitsAndFailures, through the socket: a duration limit stops
// the stream with duration_limit; a URL nobody answers is an error at once,
// with no reconnect attempts.
func TestScenarioLimitsAndFailures(t *testing.T) {
	m := testManager(t)
	c, ctx := serveSocket(t, m)
	ev := watchEvents(t, ctx, c)
	url := srtListener(t)

	var info control.Info
	if err := c.Do(ctx, "POST", "/v1/streams", control.StartRequest{URL: url, Stream: control.StreamConfig{DurationLimit: 2}}, &info); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, info.StreamID, control.StatusActive)
	e := ev.waitFor(t, info.StreamID, control.StatusStopped)
	if e.ErrorDetails != media.CodeDurationLimit {
		t.Errorf("stopped with %q, want duration_limit", e.ErrorDetails)
	}
	if up := e.Timestamp.Sub(info.StartedAt); up < 2*time.Second {
		t.Errorf("stopped %v after the start with a 2 s limit", up)
	}

	dead := fmt.Sprintf("srt://127.0.0.1:%d?connect_timeout=500", mediatest.FreeUDPPort(t))
	if err := c.Do(ctx, "POST", "/v1/streams", control.StartRequest{URL: dead}, &info); err != nil {
		t.Fatal(err)
	}
	e = ev.waitFor(t, info.StreamID, control.StatusError)
	if e.ErrorDetails != media.CodeConnectFailed {
		t.Errorf("error %q, want connect_failed", e.ErrorDetails)
	}
	time.Sleep(time.Second) // a retry, if there were one, would show now
	if got := fmt.Sprint(ev.statuses(info.StreamID)); got != "[initializing connecting error]" {
		t.Errorf("statuses %s: a stream that never worked was retried", got)
	}
	if l := list(t, ctx, c); len(l) != 0 {
		t.Errorf("failed stream still listed: %+v", l)
	}
}

package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media/mediatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, mediatest.KnownLeaks()...) }

// fakeCloud is a WebSocket server written in the test: it accepts the
// device, checks the token, and lets the test send commands and read
// everything the device says.
type fakeCloud struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	mu    sync.Mutex
	conns []*websocket.Conn
	in    chan map[string]any
	conn  chan *websocket.Conn
	// refuse turns the device away (503), as a cloud that is down.
	refuse atomic.Bool
	// dropAfter, when set, hangs up on every connection after that long.
	dropAfter atomic.Int64
}

func newCloud(t *testing.T, token string) *fakeCloud {
	c := &fakeCloud{t: t, token: token, in: make(chan map[string]any, 256), conn: make(chan *websocket.Conn, 4)}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.refuse.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+c.token {
			http.Error(w, "token", http.StatusUnauthorized)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ws.SetReadLimit(8 << 20)
		c.mu.Lock()
		c.conns = append(c.conns, ws)
		c.mu.Unlock()
		c.conn <- ws
		if d := time.Duration(c.dropAfter.Load()); d > 0 {
			defer time.AfterFunc(d, func() { ws.CloseNow() }).Stop()
		}
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			json.Unmarshal(b, &m)
			c.in <- m
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *fakeCloud) url() string { return "ws" + strings.TrimPrefix(c.srv.URL, "http") }

func (c *fakeCloud) send(ws *websocket.Conn, v any) {
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		b, _ = json.Marshal(v)
	}
	if err := ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads until a message matches, failing after d.
func (c *fakeCloud) expect(d time.Duration, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-c.in:
			if match(m) {
				return m
			}
		case <-timeout:
			c.t.Fatal("expected message never came")
		}
	}
}

func isType(typ, id string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ && (id == "" || m["id"] == id) }
}

func isStatus(status string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == "stream_status" && m["status"] == status }
}

func testManager(t *testing.T, keepalive time.Duration) *control.Manager {
	cfg := control.Defaults()
	cfg.Video = control.VideoConfig{Width: 320, Height: 240, Bitrate: 300_000, FrameRate: 15}
	cfg.KeepAliveTimeout = keepalive
	m := control.NewManager(cfg, control.Publishers())
	t.Cleanup(m.Close)
	return m
}

func runClient(t *testing.T, c *fakeCloud, m *control.Manager) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	cl := New(Config{URL: c.url(), Token: c.token, BackoffInitial: 100 * time.Millisecond, BackoffMax: 500 * time.Millisecond}, m)
	done := make(chan struct{})
	go func() {
		cl.Run(ctx)
		close(done)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

func srtReceiver(t *testing.T) string {
	port := mediatest.FreeUDPPort(t)
	mediatest.StartTo(t, t.TempDir()+"/rx.ts", "srt-live-transmit", "-q", fmt.Sprintf("srt://:%d?mode=listener", port), "file://con")
	mediatest.WaitUDPBound(t, port, 20*time.Second)
	return fmt.Sprintf("srt://127.0.0.1:%d", port)
}

func TestCloudCommands(t *testing.T) {
	cloud := newCloud(t, "cloud-token")
	m := testManager(t, 60*time.Second)
	runClient(t, cloud, m)
	ws := <-cloud.conn
	url := srtReceiver(t)

	cloud.send(ws, map[string]any{"type": "start_stream", "id": "r1", "kind": "managed", "url": url, "holder": "app1", "stream": map[string]any{"durationLimit": 60}})
	var ack map[string]any
	active := false
	cloud.expect(10*time.Second, func(m map[string]any) bool {
		if isType("ack", "r1")(m) {
			ack = m
		}
		active = active || isStatus("active")(m)
		return ack != nil && active
	})
	id := ack["stream"].(map[string]any)["streamId"].(string)

	// Bad input: an error reply each, and the connection and stream stay.
	for _, bad := range []struct{ msg, code string }{
		{`{"type":"start_stream","id":"r2","url":`, "bad_request"},
		{`{"type":"launch_rockets","id":"r3"}`, "unknown_type"},
		{`{"id":"r4"}`, "bad_request"},
		{`{"type":"start_stream","id":"r5","url":"srt://h:1","colour":"red"}`, "bad_request"},
		{`{"type":"start_stream","id":"r6","url":"srt://h:1","video":{"width":"big"}}`, "bad_request"},
		{`{"type":"start_stream","id":"r7","kind":"unmanaged","url":"srt://127.0.0.1:1"}`, "camera_busy"},
		{`{"type":"stop_stream","id":"r8","streamId":"nope"}`, "not_found"},
		{`{"type":"keep_stream_alive","id":"r9","streamId":"nope"}`, "not_found"},
		{`{"type":"start_stream","id":"r10","url":"` + strings.Repeat("a", 1<<20) + `"}`, "too_large"},
	} {
		cloud.send(ws, bad.msg)
		e := cloud.expect(5*time.Second, isType("error", ""))
		if e["error"].(map[string]any)["code"] != bad.code {
			t.Errorf("%.60s: %v, want %s", bad.msg, e, bad.code)
		}
	}
	cloud.send(ws, map[string]any{"type": "keep_stream_alive", "id": "k1", "streamId": id})
	cloud.expect(5*time.Second, isType("ack", "k1"))
	cloud.send(ws, map[string]any{"type": "get_stream_status", "id": "q1"})
	st := cloud.expect(5*time.Second, isType("ack", "q1"))
	if streams := st["streams"].([]any); len(streams) != 1 || streams[0].(map[string]any)["status"] != "active" {
		t.Errorf("status reply %v", st)
	}

	// The cloud drops the connection: the device reconnects and re-sends
	// the state of its stream.
	ws.CloseNow()
	ws = <-cloud.conn
	cloud.expect(10*time.Second, func(m map[string]any) bool {
		return m["type"] == "stream_status" && m["streamId"] == id && m["status"] == "active"
	})
	cloud.send(ws, map[string]any{"type": "stop_stream", "id": "s1", "streamId": id, "holder": "app1"})
	// The ack and the stopped event may come in either order.
	acked, stopped := false, false
	cloud.expect(15*time.Second, func(m map[string]any) bool {
		acked = acked || isType("ack", "s1")(m)
		stopped = stopped || isStatus("stopped")(m)
		return acked && stopped
	})
}

func TestCloudKeepAliveTimeout(t *testing.T) {
	cloud := newCloud(t, "t")
	m := testManager(t, 1500*time.Millisecond)
	runClient(t, cloud, m)
	ws := <-cloud.conn
	cloud.send(ws, map[string]any{"type": "start_stream", "id": "r1", "kind": "managed", "url": srtReceiver(t), "holder": "app"})
	cloud.expect(10*time.Second, isType("ack", "r1"))
	st := cloud.expect(10*time.Second, isStatus("stopped"))
	if st["errorDetails"] != "keepalive_timeout" {
		t.Errorf("stopped with %v, want keepalive_timeout", st["errorDetails"])
	}
}

func TestCloudWrongToken(t *testing.T) {
	cloud := newCloud(t, "right")
	states := make(chan error, 8)
	cl := New(Config{URL: cloud.url(), Token: "wrong", BackoffInitial: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		OnState: func(s string, err error) {
			if s == "disconnected" {
				select {
				case states <- err:
				default:
				}
			}
		}}, testManager(t, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		cl.Run(ctx)
		close(done)
	}()
	err := <-states
	cancel()
	<-done
	if err == nil || !strings.Contains(err.Error(), "auth_failed") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong token: %v", err)
	}
}

// TestCloudStateAfterOutage: while the cloud is unreachable a stream
// starts and becomes active; once the device is back, the cloud hears its
// current state and nothing older after it.
func TestCloudStateAfterOutage(t *testing.T) {
	cloud := newCloud(t, "t")
	m := testManager(t, time.Minute)
	runClient(t, cloud, m)
	ws := <-cloud.conn
	cloud.refuse.Store(true)
	ws.CloseNow()

	s, err := m.Start(control.StartRequest{URL: srtReceiver(t), Holder: "local"})
	if err != nil {
		t.Fatal(err)
	}
	ch, unsub := m.Subscribe()
	for deadline := time.After(10 * time.Second); len(m.List()) == 0 || m.List()[0].Status != control.StatusActive; {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("never active: %+v", m.List())
		}
	}
	unsub()
	cloud.refuse.Store(false)
	<-cloud.conn
	var seen []string
	cloud.expect(10*time.Second, func(msg map[string]any) bool {
		if msg["type"] == "stream_status" && msg["streamId"] == s.StreamID {
			seen = append(seen, msg["status"].(string))
		}
		return len(seen) > 0
	})
	// Stats keep coming while it is active; any other status would be an
	// event from before the reconnection.
	deadline := time.After(2 * time.Second)
	for {
		select {
		case msg := <-cloud.in:
			if msg["type"] == "stream_status" && msg["streamId"] == s.StreamID {
				seen = append(seen, msg["status"].(string))
			}
			continue
		case <-deadline:
		}
		break
	}
	for _, st := range seen {
		if st != "active" {
			t.Fatalf("after the outage the cloud heard %v", seen)
		}
	}
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
}

// TestCloudBackoffStartsOver: after a connection that worked, the backoff
// starts again from its initial value. The cloud hangs up every connection
// after 150 ms; with the backoff starting over, each reconnection waits at
// most 100 ms, so 10 connections take about 2.5 s. Without, the waits would
// double each time and 10 would take over 25 s.
func TestCloudBackoffStartsOver(t *testing.T) {
	cloud := newCloud(t, "t")
	cloud.dropAfter.Store(int64(150 * time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cl := New(Config{URL: cloud.url(), Token: "t", BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Minute,
		StableAfter: 50 * time.Millisecond}, testManager(t, time.Minute))
	done := make(chan struct{})
	go func() {
		cl.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	timeout := time.After(8 * time.Second)
	for i := 0; i < 10; i++ {
		select {
		case <-cloud.conn:
		case <-timeout:
			t.Fatalf("only %d connections in 8 s: the backoff did not start over", i)
		}
	}
}

package control

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, mediatest.KnownLeaks()...)
}

func testConfig() Config {
	c := Defaults()
	c.Video = VideoConfig{Width: 320, Height: 240, Bitrate: 300_000, FrameRate: 15}
	c.Audio = AudioConfig{Bitrate: 64_000, SampleRate: 48000}
	c.StatsInterval = 500 * time.Millisecond
	c.BackoffInitial = 200 * time.Millisecond
	c.BackoffMax = time.Second
	c.GiveUpAfter = 20 * time.Second
	return c
}

// receiver is srt-live-transmit listening on a port and recording.
type receiver struct {
	port int
	file string
	proc *mediatest.Process
}

func startReceiver(t *testing.T, port int) *receiver {
	t.Helper()
	if port == 0 {
		port = mediatest.FreeUDPPort(t)
	}
	r := &receiver{port: port, file: filepath.Join(t.TempDir(), fmt.Sprintf("rx-%d.ts", time.Now().UnixNano()))}
	r.proc = mediatest.StartTo(t, r.file, "srt-live-transmit", "-q", fmt.Sprintf("srt://:%d?mode=listener", port), "file://con")
	mediatest.WaitUDPBound(t, port, 20*time.Second)
	return r
}

func (r *receiver) url() string { return fmt.Sprintf("srt://127.0.0.1:%d", r.port) }

// recorder collects a manager's events.
type recorder struct {
	mu     sync.Mutex
	events []Event
	done   chan struct{}
}

func record(m *Manager) (*recorder, func()) {
	ch, unsub := m.Subscribe()
	r := &recorder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range ch {
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
		}
	}()
	return r, func() {
		unsub()
		<-r.done
	}
}

// waitFor waits until an event for stream id with status st arrives and
// returns it.
func (r *recorder) waitFor(t *testing.T, id string, st Status, d time.Duration) Event {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, e := range r.events {
			if e.StreamID == id && e.Status == st {
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("stream %s never reached %s; events: %+v", id, st, r.events)
	return Event{}
}

// all returns the events of stream id so far.
func (r *recorder) all(id string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.StreamID == id {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) statuses(id string) []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Status
	for _, e := range r.events {
		if e.StreamID == id && (len(out) == 0 || out[len(out)-1] != e.Status) {
			out = append(out, e.Status)
		}
	}
	return out
}

func TestManagedSharedByThreeHolders(t *testing.T) {
	rx := startReceiver(t, 0)
	m := NewManager(testConfig(), Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	a, err := m.Start(StartRequest{Kind: Managed, URL: rx.url(), Holder: "app.a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"app.b", "app.c"} {
		info, err := m.Start(StartRequest{Kind: Managed, URL: rx.url(), Holder: h})
		if err != nil || info.StreamID != a.StreamID {
			t.Fatalf("%s joining: %v %+v", h, err, info)
		}
	}
	ev.waitFor(t, a.StreamID, StatusActive, 10*time.Second)
	if l := m.List(); len(l) != 1 || len(l[0].Holders) != 3 {
		t.Fatalf("list %+v", l)
	}
	// An unmanaged stream is refused while the managed one runs, naming
	// its holders, and the managed stream is untouched.
	_, err = m.Start(StartRequest{Kind: Unmanaged, URL: rx.url(), Holder: "app.x"})
	if !errors.Is(err, media.ErrCode(media.CodeCameraBusy)) {
		t.Fatalf("unmanaged while managed: %v", err)
	}
	for _, h := range []string{"app.a", "app.b"} {
		if _, err := m.Stop(a.StreamID, h); err != nil {
			t.Fatal(err)
		}
		if l := m.List(); len(l) != 1 || l[0].Status != StatusActive {
			t.Fatalf("after %s left: %+v", h, l)
		}
	}
	if _, err := m.Stop(a.StreamID, "app.a"); !errors.Is(err, media.ErrCode(media.CodeNotFound)) {
		t.Errorf("a holder stopping twice: %v", err)
	}
	if _, err := m.Stop(a.StreamID, "app.c"); err != nil {
		t.Fatal(err)
	}
	if l := m.List(); len(l) != 0 {
		t.Fatalf("stream still listed after the last holder left: %+v", l)
	}
	ev.waitFor(t, a.StreamID, StatusStopped, time.Second)
	got := fmt.Sprint(ev.statuses(a.StreamID))
	if got != "[initializing connecting active stopping stopped]" {
		t.Errorf("statuses %s", got)
	}
}

func TestDurationLimit(t *testing.T) {
	rx := startReceiver(t, 0)
	m := NewManager(testConfig(), Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{URL: rx.url(), Stream: StreamConfig{DurationLimit: 2}})
	if err != nil {
		t.Fatal(err)
	}
	e := ev.waitFor(t, s.StreamID, StatusStopped, 10*time.Second)
	if e.ErrorDetails != media.CodeDurationLimit {
		t.Errorf("stopped with %q, want duration_limit", e.ErrorDetails)
	}
	if up := e.Timestamp.Sub(s.StartedAt); up < 2*time.Second || up > 6*time.Second {
		t.Errorf("stopped after %v with a 2 s limit", up)
	}
}

func TestKeepAlive(t *testing.T) {
	rx := startReceiver(t, 0)
	cfg := testConfig()
	cfg.KeepAliveTimeout = 1500 * time.Millisecond
	m := NewManager(cfg, Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{Kind: Managed, URL: rx.url(), Holder: "cloud", KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	// Kept alive for 3 s: twice the timeout.
	for i := 0; i < 6; i++ {
		time.Sleep(500 * time.Millisecond)
		if err := m.KeepAlive(s.StreamID); err != nil {
			t.Fatal(err)
		}
	}
	if l := m.List(); len(l) != 1 {
		t.Fatal("stream stopped although kept alive")
	}
	e := ev.waitFor(t, s.StreamID, StatusStopped, 5*time.Second)
	if e.ErrorDetails != media.CodeKeepaliveTimeout {
		t.Errorf("stopped with %q, want keepalive_timeout", e.ErrorDetails)
	}
	if err := m.KeepAlive(s.StreamID); !errors.Is(err, media.ErrCode(media.CodeNotFound)) {
		t.Errorf("keep-alive for a stopped stream: %v", err)
	}
}

func TestFailureBeforeActiveIsFinal(t *testing.T) {
	m := NewManager(testConfig(), Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	// Refused before anything starts.
	for _, req := range []StartRequest{
		{URL: "srt://127.0.0.1:9?latency=abc"},
		{URL: "ftp://x/y"},
		{URL: "srt://127.0.0.1:9", Kind: "shared"},
		{URL: "srt://127.0.0.1:9", Video: VideoConfig{Width: 0, Height: 480}},
		{URL: "srt://127.0.0.1:9", Video: VideoConfig{Bitrate: -1}},
		{URL: "srt://127.0.0.1:9", Stream: StreamConfig{DurationLimit: -1}},
		{URL: "srt://127.0.0.1:9", Stream: StreamConfig{DurationLimit: 10 * MaxDurationLimit}},
		{URL: "srt://127.0.0.1:9", Audio: AudioConfig{SampleRate: 22050, NoiseSuppression: true}},
	} {
		if _, err := m.Start(req); err == nil {
			t.Errorf("%+v accepted", req)
		}
	}
	if len(m.List()) != 0 {
		t.Fatal("a refused request left a stream")
	}
	// Nobody listens: error at once, no reconnecting.
	s, err := m.Start(StartRequest{URL: fmt.Sprintf("srt://127.0.0.1:%d?connect_timeout=500", mediatest.FreeUDPPort(t))})
	if err != nil {
		t.Fatal(err)
	}
	e := ev.waitFor(t, s.StreamID, StatusError, 10*time.Second)
	if e.ErrorDetails != media.CodeConnectFailed {
		t.Errorf("error %q, want connect_failed", e.ErrorDetails)
	}
	if got := fmt.Sprint(ev.statuses(s.StreamID)); got != "[initializing connecting error]" {
		t.Errorf("statuses %s: retried a stream that never worked", got)
	}
}

// TestAudioFrontEndReported: a stream asking for noise suppression and
// echo cancellation runs them, says so (with the encoder it chose), and
// takes what the speaker plays as the echo reference.
func TestAudioFrontEndReported(t *testing.T) {
	rx := startReceiver(t, 0)
	m := NewManager(testConfig(), Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{URL: rx.url(), Audio: AudioConfig{SampleRate: 44100, NoiseSuppression: true, EchoCancellation: true}})
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	m.FeedEcho(make([]int16, 4800), media.AudioFormat{SampleRate: 48000, Channels: 1}, time.Now())
	info := m.List()[0]
	for _, want := range []string{"video: software (openh264)", "echo cancellation", "noise suppression", "highpass"} {
		if !strings.Contains(info.Pipeline, want) {
			t.Errorf("pipeline %q: no %q", info.Pipeline, want)
		}
	}
	connecting := ev.waitFor(t, s.StreamID, StatusConnecting, time.Second).Message
	if !strings.Contains(connecting, "noise suppression") {
		t.Errorf("connecting message %q does not say what runs", connecting)
	}
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
}

func TestReconnectAfterReceiverRestart(t *testing.T) {
	rx := startReceiver(t, 0)
	m := NewManager(testConfig(), Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{URL: rx.url()})
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	time.Sleep(time.Second)
	rx.proc.Kill()
	ev.waitFor(t, s.StreamID, StatusReconnecting, 15*time.Second)
	time.Sleep(time.Second)
	rx2 := startReceiver(t, rx.port)
	ev.mu.Lock()
	n := len(ev.events)
	ev.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ev.mu.Lock()
		var back bool
		for _, e := range ev.events[n:] {
			back = back || (e.StreamID == s.StreamID && e.Status == StatusActive)
		}
		ev.mu.Unlock()
		if back {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not active again after the receiver came back: %v", ev.statuses(s.StreamID))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
	rx2.proc.Wait(2 * time.Second)
	if st, err := os.Stat(rx2.file); err != nil || st.Size() == 0 {
		t.Fatalf("the restarted receiver recorded nothing: %v", err)
	}
	if !mediatest.FirstVideoFrameIsKey(t, rx2.file) {
		t.Error("the stream after the reconnect does not start on a keyframe")
	}
	t.Logf("statuses: %v", ev.statuses(s.StreamID))
}

// TestConcurrentClients: many clients start and stop at random; at no
// instant do two streams hold the camera (checked on the ordered event
// log), and nothing leaks.
func TestConcurrentClients(t *testing.T) {
	rx := startReceiver(t, 0)
	m := NewManager(testConfig(), Publishers())
	ev, stop := record(m)
	fdsBefore := countFDs(t)
	var wg sync.WaitGroup
	clients, run := 50, 20*time.Second
	if testing.Short() {
		clients, run = 20, 5*time.Second
	}
	deadline := time.Now().Add(run)
	// Meanwhile, bitrate changes land on streams as they start and stop:
	// never on a closed encoder, never with an unexpected error.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			for _, s := range m.List() {
				err := m.SetBitrate(s.StreamID, 200_000+rand.IntN(400_000))
				if err != nil && !errors.Is(err, media.ErrCode(media.CodeNotFound)) {
					t.Errorf("set bitrate: %v", err)
					return
				}
			}
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		}
	}()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			holder := fmt.Sprintf("app%d", c)
			for time.Now().Before(deadline) {
				kind := Unmanaged
				if rand.IntN(2) == 0 {
					kind = Managed
				}
				info, err := m.Start(StartRequest{Kind: kind, URL: rx.url(), Holder: holder})
				time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
				if err == nil {
					m.Stop(info.StreamID, holder)
				} else if !errors.Is(err, media.ErrCode(media.CodeCameraBusy)) {
					t.Errorf("start: %v", err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	m.Close()
	stop()
	owner := ""
	for _, e := range ev.events {
		switch e.Status {
		case StatusInitializing:
			if owner != "" && owner != e.StreamID {
				t.Fatalf("%s started while %s held the camera", e.StreamID, owner)
			}
			owner = e.StreamID
		case StatusStopped, StatusError:
			if owner == e.StreamID {
				owner = ""
			}
		}
	}
	if n := len(ev.events); n < 10 {
		t.Errorf("only %d events: the clients did not exercise the manager", n)
	}
	time.Sleep(500 * time.Millisecond)
	if after := countFDs(t); after > fdsBefore+2 {
		t.Errorf("file descriptors %d -> %d", fdsBefore, after)
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func TestHealthy(t *testing.T) {
	rx := startReceiver(t, 0)
	m := NewManager(testConfig(), Publishers())
	defer m.Close()
	if err := m.Healthy(time.Second); err != nil {
		t.Fatalf("idle manager unhealthy: %v", err)
	}
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{URL: rx.url()})
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	for i := 0; i < 3; i++ {
		if err := m.Healthy(2 * time.Second); err != nil {
			t.Fatalf("streaming manager unhealthy: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

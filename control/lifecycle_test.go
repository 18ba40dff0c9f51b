package control

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// cueLog is a CuePlayer that records which cues the manager asked for. It
// checks only that a cue is requested at the right moments; playback itself
// is tested in package sounds.
type cueLog struct {
	mu   sync.Mutex
	cues []string
}

func (c *cueLog) PlayStart() { c.add("start") }
func (c *cueLog) PlayStop()  { c.add("stop") }
func (c *cueLog) add(s string) {
	c.mu.Lock()
	c.cues = append(c.cues, s)
	c.mu.Unlock()
}
func (c *cueLog) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.cues)
}

func TestCuesRequested(t *testing.T) {
	rx := startReceiver(t, 0)
	cues := &cueLog{}
	cfg := testConfig()
	cfg.Cues = cues
	m := NewManager(cfg, Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()

	s, err := m.Start(StartRequest{URL: rx.url()})
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	if got := cues.got(); !slices.Equal(got, []string{"start"}) {
		t.Errorf("cues once active: %v, want [start]", got)
	}
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
	if got := cues.got(); !slices.Equal(got, []string{"start", "stop"}) {
		t.Errorf("cues after stop: %v, want [start stop]", got)
	}

	// sound: false plays nothing.
	off := false
	s, err = m.Start(StartRequest{URL: rx.url(), Sound: &off})
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
	if got := cues.got(); len(got) != 2 {
		t.Errorf("cues with sound off: %v", got)
	}
}

// TestKeepAliveDuringBackoff: keep-alives that arrive while the stream
// waits between reconnect attempts keep it alive, even when a wait is
// longer than the keep-alive timeout; once they stop, the watchdog fires.
func TestKeepAliveDuringBackoff(t *testing.T) {
	rx := startReceiver(t, 0)
	cfg := testConfig()
	cfg.KeepAliveTimeout = 1500 * time.Millisecond
	cfg.BackoffInitial, cfg.BackoffMax = 4*time.Second, 4*time.Second // waits of 2 to 4 s
	m := NewManager(cfg, Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{Kind: Managed, URL: rx.url(), Holder: "cloud", KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	kick := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
			m.KeepAlive(s.StreamID)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		kick(3 * time.Second)
	}()
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	<-done
	rx.proc.Kill()
	ev.waitFor(t, s.StreamID, StatusReconnecting, 15*time.Second)
	kick(6 * time.Second)
	if st := ev.statuses(s.StreamID); slices.Contains(st, StatusStopped) {
		t.Fatalf("stopped although kept alive through the backoff: %v", st)
	}
	e := ev.waitFor(t, s.StreamID, StatusStopped, 10*time.Second)
	if e.ErrorDetails != media.CodeKeepaliveTimeout {
		t.Errorf("stopped with %q, want keepalive_timeout", e.ErrorDetails)
	}
}

// TestJoinWhileStopping: a managed start that arrives while the managed
// stream is stopping does not join the dying stream: it gets a new one
// that runs.
func TestJoinWhileStopping(t *testing.T) {
	rx := startReceiver(t, 0)
	m := NewManager(testConfig(), Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	a, err := m.Start(StartRequest{Kind: Managed, URL: rx.url(), Holder: "app.a"})
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, a.StreamID, StatusActive, 10*time.Second)
	stopped := make(chan error, 1)
	go func() {
		_, err := m.Stop(a.StreamID, "app.a")
		stopped <- err
	}()
	ev.waitFor(t, a.StreamID, StatusStopping, 10*time.Second)
	b, err := m.Start(StartRequest{Kind: Managed, URL: rx.url(), Holder: "app.b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if b.StreamID == a.StreamID {
		t.Fatalf("app.b joined stream %s while it was stopping", a.StreamID)
	}
	ev.waitFor(t, b.StreamID, StatusActive, 10*time.Second)
	l := m.List()
	if len(l) != 1 || l[0].StreamID != b.StreamID || !slices.Equal(l[0].Holders, []string{"app.b"}) {
		t.Fatalf("list %+v, want %s held by app.b", l, b.StreamID)
	}
	// Only a holder may let go: another app's name stops nothing.
	if _, err := m.Stop(b.StreamID, "app.a"); media.CodeOf(err) != media.CodeNotFound {
		t.Errorf("stop by a non-holder: %v, want not_found", err)
	}
	if _, err := m.Stop(b.StreamID, "app.b"); err != nil {
		t.Fatal(err)
	}
}

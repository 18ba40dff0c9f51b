package control

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestSoak streams over SRT with a fault at every period (a bandwidth cut,
// 15 % loss, a 3 s outage, a receiver restart, in turn) for
// GLASSAGENT_SOAK (default 2 minutes; `make soak` runs 30) and checks that
// nothing grows: goroutines (beyond the two that gosrt leaks per failed
// dial, NOTES.md), open files, and memory by more than 1 MB after warm-up.
// Warm-up is the first round of the four faults: the queue reaches its
// depth, the controller its ceilings, a reconnection its buffers, once.
// Memory is the resident set; under the race detector, whose shadow
// memory grows with every allocation ever made, it is the Go heap in use
// instead (the RSS is logged).
func TestSoak(t *testing.T) {
	total := 2 * time.Minute
	if v := os.Getenv("GLASSAGENT_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("GLASSAGENT_SOAK=%q: %v", v, err)
		}
		total = d
	}
	if !adaptInNetns(t, "TestSoak") {
		return
	}
	whiptest.EthernetLoopback(t)
	rx := startReceiver(t, 0)
	cfg := testConfig()
	cfg.Video = VideoConfig{Width: 640, Height: 360, Bitrate: 1_000_000, FrameRate: 30}
	cfg.Audio = AudioConfig{Bitrate: 32_000, SampleRate: 48000}
	cfg.Adapt.MinBitrate = 100_000
	cfg.GiveUpAfter = time.Minute
	m := NewManager(cfg, Publishers())
	defer m.Close()
	s, err := m.Start(StartRequest{URL: rx.url() + "?latency=800"})
	if err != nil {
		t.Fatal(err)
	}
	active := func(within time.Duration) Stats {
		deadline := time.Now().Add(within)
		for {
			l := m.List()
			if len(l) == 0 {
				t.Fatal("the stream is gone")
			}
			if l[0].Status == StatusActive && l[0].Stats != nil {
				return *l[0].Stats
			}
			if l[0].Status == StatusError || time.Now().After(deadline) {
				t.Fatalf("the stream is %s, not active, %v after a fault", l[0].Status, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	active(10 * time.Second)
	whiptest.Sh(t, "nft", "add", "table", "inet", "soak")
	whiptest.Sh(t, "nft", "add", "chain", "inet", "soak", "out", "{ type filter hook output priority 0; }")
	port := strconv.Itoa(rx.port)

	period := min(time.Minute, total/8)
	begin := time.Now()
	var g0, f0 int
	var r0, h0 int64
	var st0 Stats
	faults := 0
	for next := begin.Add(period); time.Until(begin.Add(total)) > period/2; next = next.Add(period) {
		time.Sleep(time.Until(next))
		if faults == 4 {
			g0, f0, r0, h0 = resources(t)
			st0 = active(time.Second)
		}
		st := active(20 * time.Second)
		switch faults % 4 {
		case 0:
			whiptest.Sh(t, "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", fmt.Sprintf("%dbit", st.Bitrate*6/10), "burst", "32kbit", "latency", "200ms")
			time.Sleep(10 * time.Second)
			whiptest.Sh(t, "tc", "qdisc", "del", "dev", "lo", "root")
		case 1:
			whiptest.Sh(t, "nft", "add", "rule", "inet", "soak", "out", "udp", "dport", port, "numgen", "random", "mod", "100", "<", "15", "drop")
			time.Sleep(10 * time.Second)
			whiptest.Sh(t, "nft", "flush", "chain", "inet", "soak", "out")
		case 2:
			whiptest.Sh(t, "nft", "add", "rule", "inet", "soak", "out", "udp", "dport", port, "drop")
			time.Sleep(3 * time.Second)
			whiptest.Sh(t, "nft", "flush", "chain", "inet", "soak", "out")
		case 3:
			rx.proc.Kill()
			time.Sleep(2 * time.Second)
			rx = startReceiver(t, rx.port)
		}
		faults++
		active(20 * time.Second)
	}
	time.Sleep(10 * time.Second) // the last fault's queue drains, the controller settles
	st := active(time.Second)
	g1, f1, r1, h1 := resources(t)
	// Each failed reconnection attempt leaves gosrt's two goroutines.
	failedDials := st.Reconnects - st0.Reconnects
	t.Logf("%v, %d faults (4 of them warm-up), %d reconnections since: goroutines %d -> %d, open files %d -> %d, RSS %.1f -> %.1f MB, Go heap %.1f -> %.1f MB",
		time.Since(begin).Round(time.Second), faults, failedDials, g0, g1, f0, f1, mb(r0), mb(r1), mb(h0), mb(h1))
	if faults < 8 {
		t.Fatalf("only %d faults in %v", faults, total)
	}
	if g1 > g0+2*failedDials+2 {
		t.Errorf("goroutines grew from %d to %d (%d reconnections allow %d)", g0, g1, failedDials, g0+2*failedDials+2)
	}
	if f1 > f0+1 {
		t.Errorf("open files grew from %d to %d", f0, f1)
	}
	if raceDetector {
		if h1 > h0+1<<20 {
			t.Errorf("the Go heap grew by %.2f MB after warm-up, want at most 1 MB", mb(h1-h0))
		}
	} else if r1 > r0+1<<20 {
		t.Errorf("RSS grew by %.2f MB after warm-up, want at most 1 MB", mb(r1-r0))
	}
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// resources returns the goroutines, open files, resident memory and Go heap
// in use of this process, after a collection that returns what it can to
// the OS.
func resources(t *testing.T) (goroutines, files int, rss, heap int64) {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap = int64(ms.HeapInuse)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb << 10
		}
	}
	return runtime.NumGoroutine(), len(fds), rss, heap
}

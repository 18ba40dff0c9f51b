package whip

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestCongestion limits the loopback link in a network namespace of its own
// (tbf, as ../shared/notes/network-faults.md describes) while a real
// encoder publishes to the pion endpoint, and checks that congestion control
// brings the encoder's bitrate under the limit, and back up when the limit
// is lifted. It re-runs itself inside `unshare -n`, which needs root; CI runs
// as root, elsewhere it skips with the reason.
func TestCongestion(t *testing.T) {
	if testing.Short() {
		t.Skip("congestion test skipped in -short mode")
	}
	if !encode.SoftwareH264Available {
		t.Skip("needs the software H.264 encoder (cgo)")
	}
	if os.Getenv("GLASSAGENT_IN_NETNS") == "" {
		if os.Geteuid() != 0 {
			if os.Getenv("CI") != "" {
				t.Fatal("CI must run as root to make network namespaces")
			}
			t.Skip("needs root to make a network namespace")
		}
		cmd := exec.Command("unshare", "-n", os.Args[0], "-test.run=^TestCongestion$", "-test.v")
		cmd.Env = append(os.Environ(), "GLASSAGENT_IN_NETNS=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in the namespace:\n%s", out)
		if err != nil {
			t.Fatalf("congestion test in its namespace failed: %v", err)
		}
		return
	}
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "link", "set", "lo", "up")

	e := whiptest.New(t)
	e.Loopback = true // the namespace has nothing but lo
	clock := media.NewClock()
	cfg, err := pipeline.Open(pipeline.Spec{
		Camera: "test", Mic: "test", Width: 640, Height: 360, FPS: 30, Bitrate: 2_000_000,
		AudioCodec: media.CodecOpus, SampleRate: 48000, Channels: 1, AudioBitrate: 32_000, Encoder: "sw",
	}, clock)
	if err != nil {
		t.Fatal(err)
	}
	// Record every bitrate the publisher asks of the encoder.
	rec := &bitrateLog{VideoEncoder: cfg.VideoEncoder}
	cfg.VideoEncoder = rec
	pl, err := pipeline.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Stop()
	p := newPub(t, e.URL(), publish.Config{})
	p.loopback = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pl.Publish(ctx, p, nil) }()
	defer func() {
		cancel()
		<-done
	}()

	sample := func(d time.Duration) (target, sent int) {
		select {
		case err := <-done:
			t.Fatalf("publish ended: %v", err)
		case <-time.After(d):
		}
		st := p.Stats()
		return st.TargetBitrate, st.Bitrate
	}
	baseTarget, baseRate := sample(6 * time.Second)
	t.Logf("unlimited: target %d bit/s, sending %d bit/s", baseTarget, baseRate)
	limit := max(baseRate/2, 300_000)
	run("tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", fmt.Sprintf("%dbit", limit), "burst", "32kbit", "latency", "400ms")
	cut := time.Now()
	var adapted time.Duration
	for time.Since(cut) < 15*time.Second {
		if tg, _ := sample(500 * time.Millisecond); tg > 0 && tg < limit {
			adapted = time.Since(cut)
			break
		}
	}
	lowTarget, lowRate := sample(2 * time.Second)
	t.Logf("limited to %d bit/s: target below it after %v; target %d, sending %d bit/s", limit, adapted, lowTarget, lowRate)
	if adapted == 0 {
		t.Fatalf("congestion control never went below the %d bit/s limit (target %d)", limit, lowTarget)
	}
	if last := rec.last(); last >= limit {
		t.Errorf("the encoder still runs at %d bit/s under a %d bit/s limit", last, limit)
	}
	run("tc", "qdisc", "del", "dev", "lo", "root")
	lifted := time.Now()
	var recovered time.Duration
	for time.Since(lifted) < 30*time.Second {
		if tg, _ := sample(500 * time.Millisecond); tg > limit*3/2 {
			recovered = time.Since(lifted)
			break
		}
	}
	t.Logf("limit lifted: target above %d after %v (final encoder bitrate %d)", limit*3/2, recovered, rec.last())
	if recovered == 0 {
		t.Errorf("target did not rise after the limit was lifted")
	}
	if frames, _, _, _ := e.Snapshot(); frames < 100 {
		t.Errorf("only %d frames arrived: the video froze", frames)
	}
}

// bitrateLog wraps the real encoder and remembers what it was asked.
type bitrateLog struct {
	encode.VideoEncoder
	mu  sync.Mutex
	bps []int
}

func (b *bitrateLog) SetBitrate(bps int) error {
	b.mu.Lock()
	b.bps = append(b.bps, bps)
	b.mu.Unlock()
	return b.VideoEncoder.SetBitrate(bps)
}

func (b *bitrateLog) last() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bps) == 0 {
		return 0
	}
	return b.bps[len(b.bps)-1]
}

// TestPLIKeyframesReceived: with a real encoder whose scheduled keyframes
// are ten seconds apart, the endpoint's PLIs (one a second) bring keyframes
// it can count.
func TestPLIKeyframesReceived(t *testing.T) {
	if !encode.SoftwareH264Available {
		t.Skip("needs the software H.264 encoder (cgo)")
	}
	e := whiptest.New(t)
	e.SendPLI.Store(true)
	cfg, err := pipeline.Open(pipeline.Spec{
		Camera: "test", Mic: "test", Width: 320, Height: 240, FPS: 15, Bitrate: 300_000, GOP: 150,
		AudioCodec: media.CodecOpus, SampleRate: 48000, Channels: 1, AudioBitrate: 32_000, Encoder: "sw",
	}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	pl, err := pipeline.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Stop()
	p := newPub(t, e.URL(), publish.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pl.Publish(ctx, p, nil) }()
	time.Sleep(5 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	frames, keys, _, _ := e.Snapshot()
	t.Logf("%d frames, %d keyframes, %d PLIs", frames, keys, p.KeyframeRequests())
	// One keyframe at the start; with a 10 s GOP every other one was asked
	// for by a PLI.
	if keys < 3 || p.KeyframeRequests() == 0 {
		t.Errorf("%d keyframes in 5 s with PLIs every second and a 10 s GOP (requests %d)", keys, p.KeyframeRequests())
	}
}

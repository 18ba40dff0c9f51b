package whip

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestICEOutage: all UDP in the namespace is dropped mid-stream (no DTLS
// close, no BYE: the far end just goes silent, as on a dead Wi-Fi). ICE
// consent fails and Run ends with connection_lost.
func TestICEOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("outage test skipped in -short mode")
	}
	if !whiptest.InNetns(t, "TestICEOutage") {
		return
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatalf("nft (Debian package nftables) is missing: %v", err)
	}
	e := whiptest.New(t)
	e.Loopback = true
	s := newSource(t, 40*time.Second)
	p := newPub(t, e.URL(), publish.Config{})
	p.Loopback = true
	go func() {
		time.Sleep(3 * time.Second)
		for _, rule := range []string{
			"add table inet outage",
			"add chain inet outage out { type filter hook output priority 0 ; }",
			"add rule inet outage out meta l4proto udp drop",
		} {
			if out, err := exec.Command("nft", rule).CombinedOutput(); err != nil {
				t.Errorf("nft %s: %v\n%s", rule, err, out) // not Fatal: another goroutine
				return
			}
		}
	}()
	start := time.Now()
	err := s.run(t, p, nil)
	if !errors.Is(err, media.ErrCode(media.CodeConnectionLost)) {
		t.Fatalf("UDP dropped: %v, want connection_lost", err)
	}
	t.Logf("%v (after %v)", err, time.Since(start).Round(time.Millisecond))
	if time.Since(start) > 35*time.Second {
		t.Errorf("noticed only after the source ended")
	}
}

// TestICENeverConnects: the endpoint answers over HTTP but no UDP gets
// through, so ICE never connects: Run gives up with a timeout after the
// connect timeout, and DELETEs the session it made.
func TestICENeverConnects(t *testing.T) {
	if testing.Short() {
		t.Skip("ICE test skipped in -short mode")
	}
	if !whiptest.InNetns(t, "TestICENeverConnects") {
		return
	}
	whiptest.Sh(t, "nft", "add table inet blackhole")
	whiptest.Sh(t, "nft", "add chain inet blackhole out { type filter hook output priority 0 ; }")
	whiptest.Sh(t, "nft", "add rule inet blackhole out meta l4proto udp drop")
	e := whiptest.New(t)
	e.Loopback = true
	p := newPub(t, e.URL(), publish.Config{ConnectTimeout: 3 * time.Second})
	p.Loopback = true
	start := time.Now()
	err := newSource(t, time.Second).run(t, p, nil)
	if !errors.Is(err, media.ErrCode(media.CodeTimeout)) || !strings.Contains(err.Error(), "ICE/DTLS") {
		t.Fatalf("ICE blocked: %v, want a timeout naming ICE/DTLS", err)
	}
	t.Logf("%v (after %v)", err, time.Since(start).Round(time.Millisecond))
	if _, _, _, deletes := e.Snapshot(); deletes != 1 {
		t.Errorf("%d DELETEs after the failed connection, want 1", deletes)
	}
}

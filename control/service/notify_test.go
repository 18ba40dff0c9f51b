package service

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listenNotify is a real NOTIFY_SOCKET: a unixgram socket like systemd's.
func listenNotify(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func readMsg(t *testing.T, c *net.UnixConn, d time.Duration) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

func TestReadyStatusStopping(t *testing.T) {
	c, path := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", path)
	n := NewNotifier()
	if err := n.Ready("streams: 0"); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, c, time.Second); !strings.Contains(got, "READY=1") || !strings.Contains(got, "STATUS=streams: 0") {
		t.Errorf("ready message %q", got)
	}
	n.Status("streaming")
	if got := readMsg(t, c, time.Second); got != "STATUS=streaming" {
		t.Errorf("status message %q", got)
	}
	n.Stopping()
	if got := readMsg(t, c, time.Second); got != "STOPPING=1" {
		t.Errorf("stopping message %q", got)
	}
}

func TestWatchdogCadenceAndStall(t *testing.T) {
	c, path := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "200000") // 200 ms: pings every 100 ms
	var stuck atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- NewNotifier().RunWatchdog(ctx, func() error {
			if stuck.Load() {
				return errors.New("pipeline stuck")
			}
			return nil
		})
	}()
	pings := 0
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if readMsg(t, c, 300*time.Millisecond) == "WATCHDOG=1" {
			pings++
		}
	}
	if pings < 3 {
		t.Errorf("%d watchdog pings in 1 s with WatchdogSec=200ms, want about 10", pings)
	}
	stuck.Store(true)
	readMsg(t, c, 150*time.Millisecond) // one ping may be in flight
	if got := readMsg(t, c, 500*time.Millisecond); got != "" {
		t.Errorf("watchdog pinged %q while the main loop was stuck", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNoSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := NewNotifier()
	if err := n.Ready("x"); err != nil {
		t.Errorf("Ready outside systemd: %v", err)
	}
	if err := n.RunWatchdog(context.Background(), nil); err != nil {
		t.Errorf("RunWatchdog outside systemd: %v", err)
	}
}

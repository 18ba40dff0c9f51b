// Package service speaks to systemd: readiness, the watchdog and stopping,
// through the sd_notify protocol (coreos/go-systemd). Outside systemd (no
// NOTIFY_SOCKET) every call is a no-op, so the daemon runs the same way from
// a shell.
package service

import (
	"context"
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends state changes to systemd.
type Notifier struct {
	send func(state string) (bool, error)
}

// NewNotifier returns a notifier for the process's NOTIFY_SOCKET.
func NewNotifier() *Notifier {
	return &Notifier{send: func(s string) (bool, error) { return daemon.SdNotify(false, s) }}
}

// Ready tells systemd the service is up (Type=notify): call it once the
// devices are probed and the API listens.
func (n *Notifier) Ready(status string) error {
	_, err := n.send(daemon.SdNotifyReady + "\nSTATUS=" + status)
	return err
}

// Status updates the one-line status `systemctl status` shows.
func (n *Notifier) Status(status string) error {
	_, err := n.send("STATUS=" + status)
	return err
}

// Stopping tells systemd a clean stop has begun.
func (n *Notifier) Stopping() error {
	_, err := n.send(daemon.SdNotifyStopping)
	return err
}

// HealthCheck reports whether the daemon's main loop is making progress. The
// watchdog pings only while it returns nil, so a stuck pipeline stops the
// pings and systemd restarts us.
type HealthCheck func() error

// RunWatchdog pings systemd at half the WatchdogSec interval while healthy,
// until ctx ends. Without a watchdog configured it returns at once.
func (n *Notifier) RunWatchdog(ctx context.Context, healthy HealthCheck) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	if interval <= 0 {
		return nil
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		if healthy == nil || healthy() == nil {
			if _, err := n.send(daemon.SdNotifyWatchdog); err != nil {
				return fmt.Errorf("watchdog ping: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

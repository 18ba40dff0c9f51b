package control

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// fakeSysfs makes a /sys/class/power_supply tree with a mains supply and a
// battery at level percent.
func fakeSysfs(t *testing.T, level int) string {
	dir := t.TempDir()
	for name, files := range map[string]map[string]string{
		"AC":   {"type": "Mains\n", "online": "1\n"},
		"BAT0": {"type": "Battery\n", "capacity": fmt.Sprintf("%d\n", level)},
	} {
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		for f, v := range files {
			os.WriteFile(filepath.Join(dir, name, f), []byte(v), 0o644)
		}
	}
	return dir
}

func TestBatteryLow(t *testing.T) {
	rx := startReceiver(t, 0)
	cfg := testConfig()
	cfg.PowerSupplyDir = fakeSysfs(t, 9)
	m := NewManager(cfg, Publishers())
	defer m.Close()
	if _, err := m.Start(StartRequest{URL: rx.url()}); !errors.Is(err, media.ErrCode(media.CodeBatteryLow)) {
		t.Fatalf("start at 9%%: %v, want battery_low", err)
	}
	if len(m.List()) != 0 {
		t.Fatal("a stream started at 9%")
	}
	cfg.PowerSupplyDir = fakeSysfs(t, 50)
	m2 := NewManager(cfg, Publishers())
	defer m2.Close()
	ev, stop := record(m2)
	defer stop()
	info, err := m2.Start(StartRequest{URL: rx.url()})
	if err != nil {
		t.Fatalf("start at 50%%: %v", err)
	}
	ev.waitFor(t, info.StreamID, StatusActive, 10*time.Second)
	// No battery at all (a dev board): no check.
	if _, ok := batteryLevel(t.TempDir()); ok {
		t.Error("an empty power_supply dir reported a battery")
	}
}

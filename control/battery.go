package control

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/glassagent/glassagent/media"
)

// DefaultPowerSupplyDir is where Linux lists batteries and chargers.
const DefaultPowerSupplyDir = "/sys/class/power_supply"

// batteryLevel returns the lowest capacity (percent) of the batteries under
// dir, and whether there is one. Mains supplies and unreadable entries are
// skipped: a device without a battery is never refused for it.
func batteryLevel(dir string) (int, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, false
	}
	level, found := 101, false
	for _, e := range entries {
		base := filepath.Join(dir, e.Name())
		if t, err := os.ReadFile(filepath.Join(base, "type")); err == nil && strings.TrimSpace(string(t)) != "Battery" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(base, "capacity"))
		if err != nil {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || v < 0 || v > 100 {
			continue
		}
		found = true
		level = min(level, v)
	}
	return level, found
}

// checkBattery refuses to start a stream below the configured level, as the
// platform's glasses do (streaming drains what is left in minutes).
func (m *Manager) checkBattery() error {
	if m.cfg.MinBattery <= 0 {
		return nil
	}
	dir := m.cfg.PowerSupplyDir
	if dir == "" {
		dir = DefaultPowerSupplyDir
	}
	if level, ok := batteryLevel(dir); ok && level < m.cfg.MinBattery {
		return media.Errorf(media.CodeBatteryLow, "battery at %d%%, streaming needs at least %d%%", level, m.cfg.MinBattery)
	}
	return nil
}

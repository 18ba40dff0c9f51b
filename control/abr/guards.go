package abr

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Guards is what the device says about itself: how hot it runs and how much
// battery is left. Reading it is cheap (a few small sysfs files); the wiring
// reads it every few seconds and passes Cap on in each Sample.
type Guards struct {
	// HasTemp: at least one thermal zone gave a plausible reading.
	HasTemp bool
	// TempC is the hottest zone, °C; TempZone is its type (e.g.
	// "cpu-thermal").
	TempC    float64
	TempZone string
	// HasBattery: a power supply of type Battery reported its capacity.
	HasBattery bool
	// Battery is the lowest capacity of the batteries, percent.
	Battery int
	// Charging: every battery reports "Charging" or "Full".
	Charging bool
}

// GuardConfig sets when the guards cap the bitrate. Zero fields take the
// defaults beside them.
type GuardConfig struct {
	// HotC caps the bitrate at HotFraction of Max from this SoC
	// temperature. Default 75 °C, 0.5: the hardware encoder and the radio
	// are the largest heat sources a stream adds, and both scale with the
	// bitrate; glasses sit on a face, and throttling by the kernel (which
	// drops frames) comes later and worse.
	HotC        float64
	HotFraction float64
	// CriticalC caps at CriticalFraction. Default 85 °C, 0.25: close to
	// where SoCs throttle hard or shut down.
	CriticalC        float64
	CriticalFraction float64
	// LowBattery caps at LowBatteryFraction below this capacity (percent)
	// while discharging. Default 20 %, 0.5: a lower bitrate stretches what
	// is left (less radio time, less encoder work) until the user can
	// charge. On a charger the runtime is not the limit, so no cap. A
	// negative LowBattery turns the battery guard off.
	LowBattery         int
	LowBatteryFraction float64
}

func (g GuardConfig) withDefaults() GuardConfig {
	if g.HotC == 0 {
		g.HotC = 75
	}
	if g.HotFraction <= 0 || g.HotFraction > 1 {
		g.HotFraction = 0.5
	}
	if g.CriticalC == 0 {
		g.CriticalC = 85
	}
	if g.CriticalFraction <= 0 || g.CriticalFraction > 1 {
		g.CriticalFraction = 0.25
	}
	if g.LowBattery == 0 {
		g.LowBattery = 20
	}
	if g.LowBatteryFraction <= 0 || g.LowBatteryFraction > 1 {
		g.LowBatteryFraction = 0.5
	}
	return g
}

// Reasons a guard gives for its cap.
const (
	ReasonThermal         = "thermal cap"
	ReasonThermalCritical = "thermal critical"
	ReasonBatteryLow      = "battery low"
)

// ReadGuards reads the thermal zones and power supplies under sysRoot
// (normally "/sys"; "" means that). A missing or unreadable file means no
// guard, never an error: many boards have no thermal driver or no battery,
// and a stream must not fail for it.
//
// Every thermal zone counts, the hottest wins: the wearer feels the hottest
// part, whichever it is.
func ReadGuards(sysRoot string) Guards {
	if sysRoot == "" {
		sysRoot = "/sys"
	}
	var g Guards
	tz, _ := filepath.Glob(filepath.Join(sysRoot, "class", "thermal", "thermal_zone*"))
	for _, dir := range tz {
		typ := readTrim(filepath.Join(dir, "type"))
		v, err := strconv.ParseInt(readTrim(filepath.Join(dir, "temp")), 10, 64)
		if err != nil {
			continue
		}
		c := float64(v) / 1000
		// Disabled or broken sensors report -273 °C, 0 x 7FFF or the like:
		// nothing a working device reaches.
		if c < -40 || c > 200 {
			continue
		}
		if !g.HasTemp || c > g.TempC {
			g.HasTemp, g.TempC, g.TempZone = true, c, typ
		}
	}
	ps, _ := filepath.Glob(filepath.Join(sysRoot, "class", "power_supply", "*"))
	charging := true
	for _, dir := range ps {
		if readTrim(filepath.Join(dir, "type")) != "Battery" {
			continue
		}
		v, err := strconv.Atoi(readTrim(filepath.Join(dir, "capacity")))
		if err != nil || v < 0 || v > 100 {
			continue
		}
		if !g.HasBattery || v < g.Battery {
			g.Battery = v
		}
		g.HasBattery = true
		switch readTrim(filepath.Join(dir, "status")) {
		case "Charging", "Full":
		default:
			charging = false
		}
	}
	g.Charging = g.HasBattery && charging
	return g
}

// Cap returns the bitrate cap the guards ask for, given the stream's Max,
// and why; (0, "") when no guard applies. The lowest cap wins.
func (g Guards) Cap(maxRate int, cfg GuardConfig) (limit int, reason string) {
	if maxRate <= 0 {
		return 0, ""
	}
	cfg = cfg.withDefaults()
	consider := func(f float64, r string) {
		if v := int(float64(maxRate) * f); limit == 0 || v < limit {
			limit, reason = max1(v), r
		}
	}
	if g.HasTemp {
		switch {
		case g.TempC >= cfg.CriticalC:
			consider(cfg.CriticalFraction, ReasonThermalCritical)
		case g.TempC >= cfg.HotC:
			consider(cfg.HotFraction, ReasonThermal)
		}
	}
	if g.HasBattery && !g.Charging && g.Battery < cfg.LowBattery {
		consider(cfg.LowBatteryFraction, ReasonBatteryLow)
	}
	return limit, reason
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func max1(v int) int {
	if v < 1 {
		return 1
	}
	return v
}

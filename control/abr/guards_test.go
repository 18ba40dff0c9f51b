package abr

import (
	"os"
	"path/filepath"
	"testing"
)

// sysfs lays out files under a temp dir the way /sys does.
func sysfs(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadGuards(t *testing.T) {
	root := sysfs(t, map[string]string{
		"class/thermal/thermal_zone0/type":   "cpu-thermal\n",
		"class/thermal/thermal_zone0/temp":   "61500\n",
		"class/thermal/thermal_zone1/type":   "gpu-thermal\n",
		"class/thermal/thermal_zone1/temp":   "78250\n",
		"class/thermal/thermal_zone2/type":   "broken\n",
		"class/thermal/thermal_zone2/temp":   "-273000\n", // a disabled sensor
		"class/thermal/thermal_zone3/type":   "no-temp\n",
		"class/thermal/thermal_zone4/temp":   "garbage\n",
		"class/thermal/cooling_device0/type": "Processor\n",
		"class/power_supply/BAT0/type":       "Battery\n",
		"class/power_supply/BAT0/capacity":   "17\n",
		"class/power_supply/BAT0/status":     "Discharging\n",
		"class/power_supply/BAT1/type":       "Battery\n",
		"class/power_supply/BAT1/capacity":   "250\n", // nonsense: skipped
		"class/power_supply/usb/type":        "USB\n",
		"class/power_supply/usb/capacity":    "3\n", // not a battery
		"class/power_supply/AC/type":         "Mains\n",
		"class/power_supply/AC/online":       "1\n",
		"class/power_supply/nocap/type":      "Battery\n",
		"class/power_supply/nocap/status":    "Charging\n",
	})
	g := ReadGuards(root)
	want := Guards{HasTemp: true, TempC: 78.25, TempZone: "gpu-thermal", HasBattery: true, Battery: 17, Charging: false}
	if g != want {
		t.Errorf("got %+v, want %+v", g, want)
	}
}

func TestReadGuardsMissing(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"empty":        {},
		"no battery":   {"class/power_supply/AC/type": "Mains\n"},
		"unreadable":   {"class/thermal/thermal_zone0/temp": ""},
		"only devices": {"class/thermal/cooling_device0/cur_state": "0\n"},
	} {
		g := ReadGuards(sysfs(t, files))
		if g != (Guards{}) {
			t.Errorf("%s: %+v, want no guard", name, g)
		}
		if c, r := g.Cap(testMax, GuardConfig{}); c != 0 || r != "" {
			t.Errorf("%s: cap %d %q", name, c, r)
		}
	}
	if g := ReadGuards(filepath.Join(t.TempDir(), "nonexistent")); g != (Guards{}) {
		t.Errorf("missing root: %+v", g)
	}
}

func TestReadGuardsCharging(t *testing.T) {
	g := ReadGuards(sysfs(t, map[string]string{
		"class/power_supply/battery/type":     "Battery\n",
		"class/power_supply/battery/capacity": "5\n",
		"class/power_supply/battery/status":   "Charging\n",
	}))
	if !g.HasBattery || g.Battery != 5 || !g.Charging {
		t.Fatalf("%+v", g)
	}
	if c, r := g.Cap(testMax, GuardConfig{}); c != 0 {
		t.Errorf("charging at 5 %%: cap %d (%s), want none", c, r)
	}
}

func TestGuardsCap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		g      Guards
		cfg    GuardConfig
		cap    int
		reason string
	}{
		{"cool", Guards{HasTemp: true, TempC: 60}, GuardConfig{}, 0, ""},
		{"just under hot", Guards{HasTemp: true, TempC: 74.9}, GuardConfig{}, 0, ""},
		{"hot", Guards{HasTemp: true, TempC: 75}, GuardConfig{}, testMax / 2, ReasonThermal},
		{"critical", Guards{HasTemp: true, TempC: 85}, GuardConfig{}, testMax / 4, ReasonThermalCritical},
		{"battery ok", Guards{HasBattery: true, Battery: 20}, GuardConfig{}, 0, ""},
		{"battery low", Guards{HasBattery: true, Battery: 19}, GuardConfig{}, testMax / 2, ReasonBatteryLow},
		{"hot and low: the lower wins", Guards{HasTemp: true, TempC: 90, HasBattery: true, Battery: 5}, GuardConfig{}, testMax / 4, ReasonThermalCritical},
		{"low battery under a custom hot cap", Guards{HasTemp: true, TempC: 76, HasBattery: true, Battery: 5}, GuardConfig{HotFraction: 0.8}, testMax / 2, ReasonBatteryLow},
		{"custom thresholds", Guards{HasTemp: true, TempC: 66}, GuardConfig{HotC: 65, HotFraction: 0.6, CriticalC: 70}, testMax * 6 / 10, ReasonThermal},
		{"custom battery", Guards{HasBattery: true, Battery: 35}, GuardConfig{LowBattery: 40, LowBatteryFraction: 0.3}, testMax * 3 / 10, ReasonBatteryLow},
		{"temperature unknown", Guards{TempC: 99}, GuardConfig{}, 0, ""},
	} {
		c, r := tc.g.Cap(testMax, tc.cfg)
		if c != tc.cap || r != tc.reason {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, c, r, tc.cap, tc.reason)
		}
	}
	if c, _ := (Guards{HasTemp: true, TempC: 99}).Cap(0, GuardConfig{}); c != 0 {
		t.Errorf("Max 0: cap %d", c)
	}
	if c, _ := (Guards{HasTemp: true, TempC: 99}).Cap(3, GuardConfig{}); c != 1 {
		t.Errorf("tiny Max: cap %d, want at least 1", c)
	}
}

// The cap reaches the controller through the sample and applies at once.
func TestGuardsDriveController(t *testing.T) {
	root := sysfs(t, map[string]string{
		"class/thermal/thermal_zone0/type": "soc-thermal\n",
		"class/thermal/thermal_zone0/temp": "80000\n",
	})
	limit, why := ReadGuards(root).Cap(testMax, GuardConfig{})
	c := newTest(t, Config{})
	d := c.Update(Sample{At: iv, Cap: limit, CapReason: why})
	if d.Bitrate != testMax/2 || d.Reason != ReasonThermal || !d.Changed {
		t.Errorf("%+v", d)
	}
}

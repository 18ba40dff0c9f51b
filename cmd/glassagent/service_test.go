package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassagent/glassagent/media/mediatest"
)

// TestSystemdUnit checks configs/glassagent.service with systemd-analyze
// verify (its ExecStart pointed at an executable that exists here) and that
// it keeps the settings the service depends on.
func TestSystemdUnit(t *testing.T) {
	src, err := os.ReadFile("../../configs/glassagent.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(src)
	for _, want := range []string{
		"Type=notify", "WatchdogSec=", "Restart=on-failure", "User=glassagent", "SupplementaryGroups=video audio",
		"RuntimeDirectory=glassagent", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
		"DevicePolicy=closed", "DeviceAllow=char-video4linux rw", "DeviceAllow=char-alsa rw", "RestrictAddressFamilies=",
		"CapabilityBoundingSet=\n", "ExecStart=/usr/bin/glassagent run --config /etc/glassagent/glassagent.yaml", "TimeoutStopSec=",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "glassagent.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/bin/glassagent", exe)), 0o644)
	out, err := exec.Command(mediatest.NeedTool(t, "systemd-analyze"), "verify", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify warns:\n%s", out)
	}
}

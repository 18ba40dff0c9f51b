package capture

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/glassagent/glassagent/media/v4l2"
)

// Cameras lists the V4L2 capture devices (not memory-to-memory ones) with
// their formats and sizes. Nodes that fail to open come back as errors.
func Cameras() ([]v4l2.Device, []error) {
	devs, errs := v4l2.List("/dev")
	var cams []v4l2.Device
	for _, d := range devs {
		if d.IsCamera() {
			cams = append(cams, d)
		}
	}
	return cams, errs
}

// SoundDevice is one ALSA PCM device.
type SoundDevice struct {
	Card, Device int
	CardName     string
	Path         string // /dev/snd/pcmC0D0c
	Capture      bool   // a microphone; else a speaker
}

// Name is the ALSA name, hw:CARD,DEV.
func (s SoundDevice) Name() string { return fmt.Sprintf("hw:%d,%d", s.Card, s.Device) }

// SoundDevices lists ALSA PCM devices from /dev/snd with the card names in
// /proc/asound/cards.
func SoundDevices() []SoundDevice {
	names := map[int]string{}
	if f, err := os.Open("/proc/asound/cards"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// " 0 [Loopback       ]: Loopback - Loopback"
			line := strings.TrimSpace(sc.Text())
			var n int
			if _, err := fmt.Sscanf(line, "%d", &n); err == nil {
				if i := strings.Index(line, "]: "); i >= 0 {
					names[n] = strings.TrimSpace(line[i+3:])
				}
			}
		}
		f.Close()
	}
	paths, _ := filepath.Glob("/dev/snd/pcmC*D*[cp]")
	sort.Strings(paths)
	var out []SoundDevice
	for _, p := range paths {
		var card, dev int
		var dir byte
		if _, err := fmt.Sscanf(filepath.Base(p), "pcmC%dD%d%c", &card, &dev, &dir); err != nil {
			continue
		}
		out = append(out, SoundDevice{Card: card, Device: dev, CardName: names[card], Path: p, Capture: dir == 'c'})
	}
	return out
}

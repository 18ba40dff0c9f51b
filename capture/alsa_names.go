package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/glassagent/glassagent/media"
)

// soundCard is one line pair of /proc/asound/cards.
type soundCard struct {
	Index int
	ID    string // "Loopback": what hw:ID,DEV names
	Name  string // "Loopback - Loopback"
}

// parseCards reads /proc/asound/cards:
//
//	0 [Loopback       ]: Loopback - Loopback
//	                     Loopback 1
func parseCards(text string) []soundCard {
	var out []soundCard
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		open, close := strings.IndexByte(l, '['), strings.Index(l, "]:")
		if open < 1 || close < open {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(l[:open]))
		if err != nil {
			continue
		}
		out = append(out, soundCard{Index: n, ID: strings.TrimSpace(l[open+1 : close]), Name: strings.TrimSpace(l[close+2:])})
	}
	return out
}

func readCards() []soundCard {
	b, err := os.ReadFile("/proc/asound/cards")
	if err != nil {
		return nil
	}
	return parseCards(string(b))
}

// ResolveALSA turns an ALSA device name into card and device numbers:
// "hw:0,1", "hw:Loopback,1", "hw:Loopback" or "Loopback" (device 0; the
// card's id or its long name), or "default" (the first card with a device
// in that direction). The device must exist.
func ResolveALSA(name string, capture bool) (card, dev int, err error) {
	dir := "p"
	if capture {
		dir = "c"
	}
	exists := func(c, d int) bool {
		_, err := os.Stat(fmt.Sprintf("/dev/snd/pcmC%dD%d%s", c, d, dir))
		return err == nil
	}
	card, dev, err = resolveALSA(name, capture, readCards(), exists, func() []string {
		paths, _ := filepath.Glob("/dev/snd/pcmC*D*" + dir)
		return paths
	})
	if err != nil {
		return 0, 0, err
	}
	return card, dev, nil
}

func resolveALSA(name string, capture bool, cards []soundCard, exists func(card, dev int) bool, list func() []string) (int, int, error) {
	what := "speaker"
	if capture {
		what = "microphone"
	}
	if name == "default" || name == "" {
		best := [2]int{-1, -1}
		for _, p := range list() {
			var c, d int
			var dir byte
			if _, err := fmt.Sscanf(filepath.Base(p), "pcmC%dD%d%c", &c, &d, &dir); err != nil {
				continue
			}
			if best[0] < 0 || c < best[0] || (c == best[0] && d < best[1]) {
				best = [2]int{c, d}
			}
		}
		if best[0] < 0 {
			return 0, 0, media.Errorf(media.CodeNotFound, "ALSA: no %s device found", what)
		}
		return best[0], best[1], nil
	}
	spec := strings.TrimPrefix(name, "hw:")
	cardPart, devPart, hasDev := strings.Cut(spec, ",")
	dev := 0
	if hasDev {
		d, err := strconv.Atoi(strings.TrimSpace(devPart))
		if err != nil || d < 0 {
			return 0, 0, media.Errorf(media.CodeInvalidConfig, "ALSA device %q: the device after the comma must be a number", name)
		}
		dev = d
	}
	card := -1
	if n, err := strconv.Atoi(cardPart); err == nil && n >= 0 {
		card = n
	} else {
		for _, c := range cards {
			if c.ID == cardPart || c.Name == cardPart {
				card = c.Index
				break
			}
		}
		if card < 0 {
			var ids []string
			for _, c := range cards {
				ids = append(ids, fmt.Sprintf("%d:%s", c.Index, c.ID))
			}
			return 0, 0, media.Errorf(media.CodeNotFound, "ALSA device %q: no card named %q (cards: %s)", name, cardPart, strings.Join(ids, " "))
		}
	}
	if !exists(card, dev) {
		return 0, 0, media.Errorf(media.CodeNotFound, "ALSA device %q: hw:%d,%d has no %s", name, card, dev, what)
	}
	return card, dev, nil
}

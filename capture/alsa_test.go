package capture

import (
	"fmt"
	"testing"

	"github.com/glassagent/glassagent/media"
)

const cardsText = ` 0 [Loopback       ]: Loopback - Loopback
                      Loopback 1
 1 [Dummy          ]: Dummy - Dummy
                      Dummy 1
`

func TestParseCards(t *testing.T) {
	got := parseCards(cardsText)
	want := []soundCard{{0, "Loopback", "Loopback - Loopback"}, {1, "Dummy", "Dummy - Dummy"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%+v, want %+v", got, want)
	}
	if got := parseCards("--- no soundcards ---\n"); len(got) != 0 {
		t.Errorf("%+v", got)
	}
}

func TestResolveALSA(t *testing.T) {
	cards := parseCards(cardsText)
	have := map[[2]int]bool{{0, 0}: true, {0, 1}: true, {1, 0}: true}
	exists := func(c, d int) bool { return have[[2]int{c, d}] }
	list := func() []string { return []string{"/dev/snd/pcmC1D0c", "/dev/snd/pcmC0D1c", "/dev/snd/pcmC0D0c"} }
	for name, want := range map[string][2]int{
		"hw:0,1": {0, 1}, "hw:Loopback,1": {0, 1}, "hw:Dummy": {1, 0}, "Dummy": {1, 0},
		"Loopback - Loopback": {0, 0}, "default": {0, 0}, "hw:1,0": {1, 0},
	} {
		c, d, err := resolveALSA(name, true, cards, exists, list)
		if err != nil || c != want[0] || d != want[1] {
			t.Errorf("%q: %d,%d %v; want %v", name, c, d, err, want)
		}
	}
	for name, code := range map[string]media.Code{
		"hw:Nope,0": media.CodeNotFound, "hw:0,x": media.CodeInvalidConfig, "hw:1,3": media.CodeNotFound, "hw:7": media.CodeNotFound,
	} {
		if _, _, err := resolveALSA(name, true, cards, exists, list); media.CodeOf(err) != code {
			t.Errorf("%q: %v, want code %s", name, err, code)
		}
	}
	if _, _, err := resolveALSA("default", false, cards, exists, func() []string { return nil }); media.CodeOf(err) != media.CodeNotFound {
		t.Errorf("default with no devices: %v", err)
	}
}

func TestOpenMicErrors(t *testing.T) {
	if _, err := OpenALSAMic(0, 0, media.AudioFormat{SampleRate: 1000, Channels: 1}, media.NewClock()); media.CodeOf(err) != media.CodeInvalidConfig {
		t.Errorf("bad rate: %v", err)
	}
	// No sound cards on the build machine: a clear error, not a hang.
	if _, err := OpenALSAMic(97, 0, media.AudioFormat{SampleRate: 48000, Channels: 1}, media.NewClock()); media.CodeOf(err) != media.CodeMicFailed {
		t.Errorf("missing device: %v", err)
	}
}

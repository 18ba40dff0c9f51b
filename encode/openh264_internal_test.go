//go:build cgo

package encode

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// openh264 always writes SPS and PPS before an IDR, so the fallback that
// puts the cached ones in front is driven here with a hand-made bitstream.
func TestSoftwareH264PrependsParameterSets(t *testing.T) {
	enc, err := NewSoftwareH264(VideoConfig{Width: 320, Height: 240, FPS: 30, Bitrate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	idrOnly := []byte{0, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 1, 0x06, 0x05, 0x01}
	if _, err := enc.accessUnit(idrOnly, 0, time.Time{}); !errors.Is(err, media.ErrCode(media.CodeEncoderFailed)) {
		t.Errorf("IDR without any known SPS: %v, want encoder_failed", err)
	}
	full := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1, 0x65, 0x88, 0x80}
	au, err := enc.accessUnit(full, 0, time.Time{})
	if err != nil || !au.Key {
		t.Fatalf("full IDR: %+v, %v", au, err)
	}
	au, err = enc.accessUnit(idrOnly, 40*time.Millisecond, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(nalTypes(au)); got != "[7 8 5 6]" || !au.Key || au.PTS != 40*time.Millisecond {
		t.Errorf("IDR without SPS/PPS became NAL types %s key=%v, want [7 8 5 6] key", got, au.Key)
	}
	// A P frame gets nothing added.
	au, err = enc.accessUnit([]byte{0, 0, 0, 1, 0x41, 0x9a, 0x02}, 0, time.Time{})
	if err != nil || au.Key || fmt.Sprint(nalTypes(au)) != "[1]" {
		t.Errorf("P frame: %v key=%v, %v", nalTypes(au), au.Key, err)
	}
}

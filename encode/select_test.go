package encode

import (
	"errors"
	"strings"
	"testing"

	"github.com/glassagent/glassagent/media"
)

// TestOpenH264Modes: on a machine without a V4L2 H.264 encoder (this one;
// the VM tests cover the M2M path against vicodec), hw is a clear
// encoder_failed, auto falls back to software and says why, and a mode
// that does not exist is invalid_config.
func TestOpenH264Modes(t *testing.T) {
	cfg := VideoConfig{Width: 320, Height: 240, FPS: 30, Bitrate: 500_000}
	if devs, _ := ProbeM2MEncoders(); len(devs) > 0 {
		t.Skipf("this machine has a hardware encoder (%s): the fallback cannot be shown", devs[0].Path)
	}
	_, _, err := OpenH264(ModeHardware, cfg)
	if !errors.Is(err, media.ErrCode(media.CodeEncoderFailed)) || !strings.Contains(err.Error(), "no hardware H.264 encoder") {
		t.Errorf("hw: %v", err)
	}
	if _, _, err := OpenH264("gpu", cfg); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
		t.Errorf("gpu: %v", err)
	}
	if _, _, err := OpenH264(ModeAuto, VideoConfig{Width: 3, Height: 2, FPS: 30, Bitrate: 500_000}); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
		t.Errorf("odd width: %v", err)
	}
	enc, desc, err := OpenH264(ModeAuto, cfg)
	if !SoftwareH264Available {
		if !errors.Is(err, media.ErrCode(media.CodeEncoderFailed)) || !strings.Contains(err.Error(), "without cgo") {
			t.Errorf("auto without cgo: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if desc != "software (openh264): no hardware H.264 encoder (V4L2 M2M) found" {
		t.Errorf("auto chose %q", desc)
	}
	if _, ok := enc.(*SoftwareH264); !ok {
		t.Errorf("auto opened %T", enc)
	}
}

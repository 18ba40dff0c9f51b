package encode

import (
	"errors"
	"fmt"
	"strings"

	"github.com/glassagent/glassagent/media"
)

// Encoder modes a stream may ask for.
const (
	ModeAuto     = "auto" // hardware when one opens, else software
	ModeHardware = "hw"
	ModeSoftware = "sw"
)

// OpenH264 opens the H.264 encoder mode asks for and says which one it
// chose and why, for the stream's status: on a device the difference
// between the SoC's encoder and openh264 is most of the CPU budget, so the
// choice is never silent.
//
// Hardware encoders are probed here, at each start, not once at boot: a
// driver may be loaded late, and a device busy with another user is skipped
// for the next one.
func OpenH264(mode string, cfg VideoConfig) (VideoEncoder, string, error) {
	switch mode {
	case ModeSoftware:
		enc, err := NewSoftwareH264(cfg)
		if err != nil {
			return nil, "", err
		}
		return enc, "software (openh264)", nil
	case ModeHardware, ModeAuto, "":
	default:
		return nil, "", media.Errorf(media.CodeInvalidConfig, "encoder %q: must be auto, hw or sw", mode)
	}
	if err := cfg.validate(); err != nil {
		return nil, "", err
	}
	devs, probeErrs := ProbeM2MEncoders()
	var hwErr error
	for _, d := range devs {
		enc, err := NewM2M(d.Path, cfg)
		if err != nil {
			hwErr = errors.Join(hwErr, err)
			continue
		}
		desc := "hardware " + enc.Device()
		if u := enc.Unsupported(); len(u) > 0 {
			desc += "; not supported by the driver: " + strings.Join(u, ", ")
		}
		return enc, desc, nil
	}
	why := "no hardware H.264 encoder (V4L2 M2M) found"
	if hwErr != nil {
		why = fmt.Sprintf("the hardware encoder failed: %v", hwErr)
	} else if len(probeErrs) > 0 {
		why += fmt.Sprintf(" (%v)", errors.Join(probeErrs...))
	}
	if mode == ModeHardware {
		return nil, "", media.Errorf(media.CodeEncoderFailed, "%s", why)
	}
	if !SoftwareH264Available {
		return nil, "", media.Errorf(media.CodeEncoderFailed, "%s, and this build has no software encoder (built without cgo)", why)
	}
	enc, err := NewSoftwareH264(cfg)
	if err != nil {
		return nil, "", err
	}
	return enc, "software (openh264): " + why, nil
}

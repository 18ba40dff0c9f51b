package encode

import (
	"github.com/glassagent/glassagent/media/v4l2"
)

// HardwareEncoders lists the V4L2 memory-to-memory devices whose CAPTURE
// side offers H.264: the SoC encoders the stateful M2M API drives.
func HardwareEncoders() ([]v4l2.Device, []error) {
	devs, errs := v4l2.List("/dev")
	var out []v4l2.Device
	for _, d := range devs {
		if d.IsM2M() && d.Has("H264") {
			out = append(out, d)
		}
	}
	return out, errs
}

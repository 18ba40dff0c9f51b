package capture

import (
	"strings"
	"testing"

	"github.com/glassagent/glassagent/media/v4l2"
)

func TestProbeReportText(t *testing.T) {
	r := ProbeReport{
		Cameras: []CameraInfo{{
			Device: v4l2.Device{Path: "/dev/video0", Card: "Cam", Driver: "uvc", Caps: v4l2.CapVideoCaptureMplane},
			Formats: []CameraFormat{
				{FourCC: "NV12", Usable: true, Sizes: []CameraSize{{Size: "1280x720", Rates: []float64{30, 12.5}}}},
				{FourCC: "MJPG", Sizes: []CameraSize{{Size: "1920x1080"}}},
			},
		}},
		Microphones: []SoundDevice{{Card: 0, Device: 1, CardName: "Loopback", Path: "/dev/snd/pcmC0D1c", Capture: true}},
	}
	var b strings.Builder
	r.WriteText(&b)
	out := b.String()
	for _, want := range []string{"/dev/video0  Cam (uvc, multi-planar)", "NV12 1280x720@30/12.5", "(not used: MJPG)", "hw:0,1  Loopback", "Speakers:\n  none", "Hardware encoders (V4L2 M2M, H.264):\n  none"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

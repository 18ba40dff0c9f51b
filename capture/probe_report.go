package capture

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/glassagent/glassagent/media/v4l2"
)

// ProbeReport is what `glassagent probe` prints: the cameras with their
// formats, sizes and rates, the microphones and speakers, and (filled in
// by the caller from encode.ProbeM2MEncoders, which capture cannot import)
// the hardware encoders.
type ProbeReport struct {
	Cameras     []CameraInfo
	Microphones []SoundDevice
	Speakers    []SoundDevice
	Encoders    []v4l2.Device
	Errors      []error
}

// CameraInfo is one camera and what it can give.
type CameraInfo struct {
	v4l2.Device
	Formats []CameraFormat
}

// CameraFormat is one pixel format with its sizes and, per discrete size,
// the frame rates.
type CameraFormat struct {
	FourCC string
	Usable bool // one of the formats we capture (NV12, YU12, NM12, YM12, YUYV)
	Sizes  []CameraSize
}

// CameraSize is a size (or a stepwise range) with its frame rates.
type CameraSize struct {
	Size  string
	Rates []float64
}

// Probe lists the cameras, microphones and speakers of this machine.
func Probe() ProbeReport {
	var r ProbeReport
	cams, errs := Cameras()
	r.Errors = append(r.Errors, errs...)
	for _, c := range cams {
		info := CameraInfo{Device: c}
		dev, err := v4l2.Open(c.Path)
		if err != nil {
			r.Errors = append(r.Errors, err)
			r.Cameras = append(r.Cameras, info)
			continue
		}
		typ := uint32(v4l2.BufTypeVideoCapture)
		if dev.Caps&v4l2.CapVideoCaptureMplane != 0 {
			typ = v4l2.BufTypeVideoCaptureMplane
		}
		for _, f := range dev.Formats(typ) {
			cf := CameraFormat{FourCC: v4l2.FourCCString(f.FourCC)}
			for _, code := range camPreference {
				cf.Usable = cf.Usable || code == f.FourCC
			}
			for _, s := range f.Sizes {
				cs := CameraSize{Size: s.String()}
				if s.MinW == s.MaxW && s.MinH == s.MaxH {
					cs.Rates = dev.FrameRates(f.FourCC, s.MinW, s.MinH)
				}
				cf.Sizes = append(cf.Sizes, cs)
			}
			info.Formats = append(info.Formats, cf)
		}
		dev.Close()
		r.Cameras = append(r.Cameras, info)
	}
	for _, s := range SoundDevices() {
		if s.Capture {
			r.Microphones = append(r.Microphones, s)
		} else {
			r.Speakers = append(r.Speakers, s)
		}
	}
	return r
}

// WriteText prints the report for people; usable camera formats first.
func (r ProbeReport) WriteText(w io.Writer) {
	api := func(d v4l2.Device) string {
		if d.Multiplanar() {
			return "multi-planar"
		}
		return "single-planar"
	}
	fmt.Fprintln(w, "Cameras:")
	if len(r.Cameras) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, c := range r.Cameras {
		fmt.Fprintf(w, "  %s  %s (%s, %s)\n", c.Path, c.Card, c.Driver, api(c.Device))
		var other []string
		for _, f := range c.Formats {
			if !f.Usable {
				other = append(other, f.FourCC)
				continue
			}
			var sizes []string
			for _, s := range f.Sizes {
				txt := s.Size
				if len(s.Rates) > 0 {
					var rates []string
					for _, v := range s.Rates {
						rates = append(rates, strconv.FormatFloat(v, 'f', -1, 64))
					}
					txt += "@" + strings.Join(rates, "/")
				}
				sizes = append(sizes, txt)
			}
			fmt.Fprintf(w, "    %-4s %s\n", f.FourCC, strings.Join(sizes, " "))
		}
		if len(other) > 0 {
			fmt.Fprintf(w, "    (not used: %s)\n", strings.Join(other, " "))
		}
	}
	sound := func(title string, devs []SoundDevice) {
		fmt.Fprintln(w, title)
		if len(devs) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, d := range devs {
			fmt.Fprintf(w, "  %s  %s (%s)\n", d.Name(), d.CardName, d.Path)
		}
	}
	sound("Microphones:", r.Microphones)
	sound("Speakers:", r.Speakers)
	fmt.Fprintln(w, "Hardware encoders (V4L2 M2M, H.264):")
	if len(r.Encoders) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, e := range r.Encoders {
		var in []string
		for _, f := range e.Output {
			in = append(in, f.FourCC)
		}
		fmt.Fprintf(w, "  %s  %s (%s, %s), takes %s\n", e.Path, e.Card, e.Driver, api(e), strings.Join(in, " "))
	}
	for _, err := range r.Errors {
		fmt.Fprintf(w, "  ! %v\n", err)
	}
}

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media/v4l2"
)

// runProbe is `glassagent probe`: what this device has, and what automatic
// selection would use. The first thing to run on new hardware.
func runProbe(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	cams, camErrs := capture.Cameras()
	encs, _ := encode.HardwareEncoders()
	sound := capture.SoundDevices()

	fmt.Fprintln(stdout, "Cameras:")
	if len(cams) == 0 {
		fmt.Fprintln(stdout, "  none found (the synthetic camera \"test\" is always there)")
	}
	for _, c := range cams {
		printDevice(stdout, c, c.Capture)
	}
	for _, err := range camErrs {
		fmt.Fprintf(stdout, "  ! %v\n", err)
	}
	fmt.Fprintln(stdout, "Microphones:")
	printSound(stdout, sound, true)
	fmt.Fprintln(stdout, "Speakers:")
	printSound(stdout, sound, false)
	fmt.Fprintln(stdout, "H.264 encoders:")
	for _, e := range encs {
		printDevice(stdout, e, e.Output)
	}
	if encode.SoftwareH264Available {
		fmt.Fprintln(stdout, "  software: openh264 (compiled in)")
	} else if len(encs) == 0 {
		fmt.Fprintln(stdout, "  none: no hardware encoder found and this build has no software one")
	}

	fmt.Fprintln(stdout, "Automatic selection:")
	cam := "test (synthetic; no camera found)"
	if len(cams) > 0 {
		cam = "test: " + cams[0].Path + " was found, but V4L2 capture is not built yet"
	}
	mic := "test (synthetic; no microphone found)"
	for _, s := range sound {
		if s.Capture {
			mic = "test: " + s.Name() + " was found, but ALSA capture is not built yet"
			break
		}
	}
	enc := "software (openh264)"
	switch {
	case len(encs) > 0:
		enc = "hardware " + encs[0].Path + " (not yet driven: the M2M encoder is future work; software is used)"
	case !encode.SoftwareH264Available:
		enc = "none"
	}
	fmt.Fprintf(stdout, "  camera: %s\n  microphone: %s\n  encoder: %s\n", cam, mic, enc)
	return nil
}

func printDevice(w io.Writer, d v4l2.Device, formats []v4l2.Format) {
	api := "single-planar"
	if d.Multiplanar() {
		api = "multi-planar"
	}
	fmt.Fprintf(w, "  %s  %s (%s, %s)\n", d.Path, d.Card, d.Driver, api)
	for _, f := range formats {
		sizes := strings.Join(f.Sizes, " ")
		if len(f.Sizes) > 8 {
			sizes = strings.Join(f.Sizes[:8], " ") + fmt.Sprintf(" ... (%d sizes)", len(f.Sizes))
		}
		fmt.Fprintf(w, "      %-5s %-28s %s\n", f.FourCC, f.Description, sizes)
	}
}

func printSound(w io.Writer, devs []capture.SoundDevice, capture bool) {
	n := 0
	for _, s := range devs {
		if s.Capture == capture {
			fmt.Fprintf(w, "  %s  %s (%s)\n", s.Name(), s.CardName, s.Path)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "  none found")
	}
}

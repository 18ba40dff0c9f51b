package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/encode"
)

// runProbe is `glassagent probe`: what this device has, and what automatic
// selection would use. The first thing to run on new hardware.
func runProbe(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	r := capture.Probe()
	encs, errs := encode.ProbeM2MEncoders()
	r.Encoders, r.Errors = encs, append(r.Errors, errs...)
	r.WriteText(stdout)
	if encode.SoftwareH264Available {
		fmt.Fprintln(stdout, "Software encoder: openh264 (compiled in)")
	} else {
		fmt.Fprintln(stdout, "Software encoder: none (built without cgo)")
	}
	fmt.Fprintln(stdout, "Automatic selection:")
	fmt.Fprintf(stdout, "  camera: %s\n  microphone: %s\n  encoder: %s\n", pickCamera(r), pickMic(r), pickEncoder(r))
	return nil
}

// pickCamera is the first camera with a format we capture: what to put in
// the config's devices.camera.
func pickCamera(r capture.ProbeReport) string {
	for _, c := range r.Cameras {
		for _, f := range c.Formats {
			if f.Usable {
				return fmt.Sprintf("%s (%s, %s)", c.Path, c.Card, f.FourCC)
			}
		}
	}
	return "test (synthetic; no usable camera found)"
}

func pickMic(r capture.ProbeReport) string {
	if len(r.Microphones) > 0 {
		m := r.Microphones[0]
		return fmt.Sprintf("%s (%s)", m.Name(), m.CardName)
	}
	return "test (synthetic; no microphone found)"
}

// pickEncoder says what `--encoder auto` opens (encode.OpenH264): the first
// hardware encoder, else openh264.
func pickEncoder(r capture.ProbeReport) string {
	switch {
	case len(r.Encoders) > 0:
		e := r.Encoders[0]
		return fmt.Sprintf("hardware %s (%s)", e.Path, e.Card)
	case encode.SoftwareH264Available:
		return "software (openh264): no hardware encoder found"
	default:
		return "none: no hardware encoder found and this build has no software one"
	}
}

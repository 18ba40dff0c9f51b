package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/glassagent/glassagent/encode"
)

// Stamped by scripts/cross-build.sh with -ldflags -X.
var (
	version = "dev"
	commit  = "unknown"
)

func runVersion(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	sw := "no (built without cgo)"
	if encode.SoftwareH264Available {
		sw = "yes (openh264)"
	}
	fmt.Fprintf(stdout, "glassagent %s (commit %s, %s, %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "encoders: H.264 software: %s; H.264 hardware (V4L2 M2M): not yet; AAC-LC: yes; Opus: yes\n", sw)
	return nil
}

//go:build !cgo

package encode

import "github.com/glassagent/glassagent/media"

// SoftwareH264Available reports whether the openh264 fallback is compiled in.
// This build has no cgo: H.264 comes from the hardware encoder only.
const SoftwareH264Available = false

// SoftwareH264 is absent without cgo.
type SoftwareH264 struct{ VideoEncoder }

// NewSoftwareH264 fails: openh264 needs cgo.
func NewSoftwareH264(cfg VideoConfig) (*SoftwareH264, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, media.Errorf(media.CodeEncoderFailed, "software H.264 (openh264) is not in this build: it was built without cgo; use the hardware encoder")
}

// Reconfigure fails like NewSoftwareH264 (there is never an encoder to
// reconfigure); it exists so code and tests build the same either way.
func (*SoftwareH264) Reconfigure(width, height, fps int) error {
	return media.Errorf(media.CodeEncoderFailed, "software H.264 (openh264) is not in this build")
}

//go:build cgo

package encode

// SoftwareH264Available reports whether the openh264 fallback is compiled in.
// It needs cgo (openh264 is C++); the static CGO_ENABLED=0 device build has
// only the hardware encoder, and callers check this before offering the
// fallback.
const SoftwareH264Available = true

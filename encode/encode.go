// Package encode turns raw frames and PCM into access units: H.264 on the
// SoC's V4L2 memory-to-memory encoder or in software (openh264), AAC-LC and
// Opus in pure Go.
package encode

import (
	"github.com/glassagent/glassagent/media"
)

// VideoEncoder is implemented by the hardware (V4L2 M2M) and software
// (openh264) H.264 encoders alike.
type VideoEncoder interface {
	// Params describes the output track.
	Params() media.VideoParams
	// Encode consumes one frame (the encoder does not Release it; the
	// caller does after Encode returns) and returns the access units that
	// became ready, in decode order. A hardware encoder may return none for
	// the first frames and several later. The returned units are owned by
	// the caller. Every IDR unit starts with SPS and PPS.
	Encode(f *media.VideoFrame) ([]*media.AccessUnit, error)
	// SetBitrate changes the target bitrate (bit/s) while running.
	SetBitrate(bps int) error
	// ForceKeyframe makes the next encoded frame an IDR. Safe to call from
	// any goroutine.
	ForceKeyframe()
	// Close drains and frees the encoder, returning any units still
	// buffered.
	Close() ([]*media.AccessUnit, error)
}

// AudioEncoder is implemented by the AAC and Opus encoders.
type AudioEncoder interface {
	Params() media.AudioParams
	// Encode buffers PCM and returns the access units completed by it. The
	// block must match Params' sample rate and channel count.
	Encode(b *media.AudioBlock) ([]*media.AccessUnit, error)
	Close() error
}

// VideoConfig configures a video encoder.
type VideoConfig struct {
	Width, Height int
	FPS           int
	Bitrate       int // bit/s
	// GOP in frames; 0 means one second (FPS).
	GOP int
}

// AudioConfig configures an audio encoder.
type AudioConfig struct {
	SampleRate int
	Channels   int
	Bitrate    int // bit/s
}

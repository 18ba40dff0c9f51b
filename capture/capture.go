// Package capture provides the pipeline's sources: cameras and microphones,
// real (V4L2, ALSA) and synthetic (a moving test pattern, a sine tone).
//
// Sources are pulled: the pipeline goroutine that owns a source calls Read in
// a loop and Close when done. A source paces itself on a real clock, so a
// synthetic source behaves like a device: Read blocks until the next frame is
// due.
package capture

import (
	"context"

	"github.com/glassagent/glassagent/media"
)

// VideoSource delivers raw frames.
type VideoSource interface {
	// Format is the negotiated format; fixed for the source's life.
	Format() media.VideoFormat
	// Read blocks until the next frame, the context ends, or the source
	// fails. The caller must Release the frame.
	Read(ctx context.Context) (*media.VideoFrame, error)
	// Close stops capture and frees the device. Safe to call twice.
	Close() error
}

// AudioSource delivers PCM blocks.
type AudioSource interface {
	Format() media.AudioFormat
	// Read blocks until the next block is available. The block's memory is
	// valid until the next Read.
	Read(ctx context.Context) (*media.AudioBlock, error)
	Close() error
}

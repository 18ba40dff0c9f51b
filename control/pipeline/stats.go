package pipeline

import (
	"time"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// Stats is a snapshot of a pipeline for status events and the CLI.
type Stats struct {
	Uptime         time.Duration
	FramesCaptured uint64
	FramesEncoded  uint64
	Keyframes      uint64
	AudioUnits     uint64
	// CaptureGaps counts frames the source lost (sequence number gaps).
	CaptureGaps uint64
	// FramesSkipped counts the frames left out for a ladder rung's lower
	// frame rate: by design, not lost.
	FramesSkipped uint64
	// Rung is the size and frame rate encoded now; RungNote says why it
	// differs from what was asked last ("" when it does not).
	Rung     Rung
	RungNote string
	// FPS is the encoded frame rate over the last second.
	FPS float64
	// VideoBitrate is the encoder's output over the last second, bit/s.
	VideoBitrate int
	Queue        media.QueueStats
	// Publish is the current publisher's view; zero when none runs.
	Publish publish.Stats
}

// DroppedFrames is every video frame lost on the way: at the source and in
// the queue.
func (s Stats) DroppedFrames() uint64 { return s.CaptureGaps + s.Queue.DroppedVideo }

// Stats returns a snapshot.
func (p *Pipeline) Stats() Stats {
	frames, bytes := p.rate.Rate()
	s := Stats{
		Uptime:         time.Since(p.start),
		FramesCaptured: p.framesCaptured.Load(),
		FramesEncoded:  p.framesEncoded.Load(),
		Keyframes:      p.keyframes.Load(),
		AudioUnits:     p.audioUnits.Load(),
		CaptureGaps:    p.seqGaps.Load(),
		FramesSkipped:  p.framesSkipped.Load(),
		FPS:            frames,
		VideoBitrate:   int(bytes * 8),
		Queue:          p.queue.Stats(),
	}
	s.Rung, s.RungNote = p.Rung()
	p.pubMu.Lock()
	if p.pub != nil {
		s.Publish = p.pub.Stats()
	} else {
		s.Publish = p.lastPub
	}
	p.pubMu.Unlock()
	return s
}

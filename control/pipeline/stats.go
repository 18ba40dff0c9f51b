package pipeline

import (
	"sync"
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
	frames, bytes := p.rate.rate()
	s := Stats{
		Uptime:         time.Since(p.start),
		FramesCaptured: p.framesCaptured.Load(),
		FramesEncoded:  p.framesEncoded.Load(),
		Keyframes:      p.keyframes.Load(),
		AudioUnits:     p.audioUnits.Load(),
		CaptureGaps:    p.seqGaps.Load(),
		FPS:            frames,
		VideoBitrate:   int(bytes * 8),
		Queue:          p.queue.Stats(),
	}
	p.pubMu.Lock()
	if p.pub != nil {
		s.Publish = p.pub.Stats()
	} else {
		s.Publish = p.lastPub
	}
	p.pubMu.Unlock()
	return s
}

// rateMeter measures units and bytes per second over a sliding second, in
// ten 100 ms buckets, without allocating.
type rateMeter struct {
	mu      sync.Mutex
	buckets [10]struct {
		slot  int64
		n     uint64
		bytes uint64
	}
}

const bucketDur = 100 * time.Millisecond

func (m *rateMeter) add(bytes uint64) {
	slot := time.Now().UnixNano() / int64(bucketDur)
	m.mu.Lock()
	b := &m.buckets[slot%int64(len(m.buckets))]
	if b.slot != slot {
		b.slot, b.n, b.bytes = slot, 0, 0
	}
	b.n++
	b.bytes += bytes
	m.mu.Unlock()
}

// rate returns units/s and bytes/s over the last full second.
func (m *rateMeter) rate() (float64, float64) {
	now := time.Now().UnixNano() / int64(bucketDur)
	var n, bytes uint64
	m.mu.Lock()
	for _, b := range m.buckets {
		// The current bucket is partial: count the ten before it.
		if b.slot < now && b.slot >= now-int64(len(m.buckets)) {
			n += b.n
			bytes += b.bytes
		}
	}
	m.mu.Unlock()
	return float64(n), float64(bytes)
}

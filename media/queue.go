package media

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrQueueClosed is returned by Pop once the queue is closed and empty.
var ErrQueueClosed = errors.New("queue closed")

// QueueConfig bounds a Queue.
type QueueConfig struct {
	// MaxDelay is the most media time the queue may hold (newest PTS minus
	// oldest PTS). Past it, video is dropped a GOP at a time. Default 1 s.
	MaxDelay time.Duration
	// MaxUnits caps the number of queued access units. Default 512.
	MaxUnits int
	// OnVideoDrop, when set, is called (outside the lock) after video was
	// dropped, so the encoder can be asked for a keyframe and the stream
	// recovers at once instead of at the next scheduled IDR.
	OnVideoDrop func()
}

// QueueStats counts what a Queue did.
type QueueStats struct {
	Pushed        uint64
	DroppedVideo  uint64 // video access units dropped
	DroppedAudio  uint64 // audio access units dropped
	DroppedGOPs   uint64 // drop events that removed video
	Depth         int    // units queued now
	MaxDepthSeen  int
	QueuedMedia   time.Duration // PTS span queued now
	WaitingForKey bool
}

// Queue is the bounded buffer between the encoders and a publisher. Encoders
// push from their goroutines; one publisher pops.
//
// When the network is slower than the encoder the queue must neither grow
// without bound nor add latency, and what it drops must leave a decodable
// stream: it drops the oldest whole GOP of video (never a reference frame on
// its own, which would corrupt every frame after it until the next IDR),
// keeps audio as long as it can, and after dropping the newest GOP it refuses
// video until the next keyframe.
type Queue struct {
	cfg    QueueConfig
	mu     sync.Mutex
	ring   []*AccessUnit
	head   int // index of the oldest unit
	n      int
	closed bool
	// waitKey: video was dropped up to the newest frame; drop incoming
	// non-key video until a keyframe arrives.
	waitKey bool
	stats   QueueStats
	ready   chan struct{} // capacity 1: a token when something was pushed
}

// NewQueue makes a queue.
func NewQueue(cfg QueueConfig) *Queue {
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = time.Second
	}
	if cfg.MaxUnits <= 0 {
		cfg.MaxUnits = 512
	}
	return &Queue{
		cfg:   cfg,
		ring:  make([]*AccessUnit, cfg.MaxUnits),
		ready: make(chan struct{}, 1),
	}
}

func (q *Queue) at(i int) *AccessUnit { return q.ring[(q.head+i)%len(q.ring)] }

// Push adds an access unit, dropping by the policy above when full. It never
// blocks. Pushing to a closed queue drops the unit.
func (q *Queue) Push(au *AccessUnit) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.stats.Pushed++
	video := au.Codec.IsVideo()
	if video && q.waitKey {
		if !au.Key {
			q.stats.DroppedVideo++
			q.mu.Unlock()
			return
		}
		q.waitKey = false
	}
	droppedVideo := false
	for q.n > 0 && (q.n >= len(q.ring) || au.DTS-q.at(0).DTS > q.cfg.MaxDelay) {
		if q.dropOldestGOP() {
			droppedVideo = true
			continue
		}
		// No video left to drop: the oldest audio goes.
		q.removeAt(0)
		q.stats.DroppedAudio++
	}
	if video && !au.Key && droppedVideo && q.waitKey {
		// The frame being pushed references what was just dropped.
		q.stats.DroppedVideo++
	} else {
		q.ring[(q.head+q.n)%len(q.ring)] = au
		q.n++
		if video && au.Key {
			q.waitKey = false
		}
	}
	if q.n > q.stats.MaxDepthSeen {
		q.stats.MaxDepthSeen = q.n
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	if droppedVideo && q.cfg.OnVideoDrop != nil {
		q.cfg.OnVideoDrop()
	}
}

// dropOldestGOP removes the video units from the oldest queued one up to,
// not including, the next queued keyframe after it. When no later keyframe is
// queued it removes all queued video and sets waitKey. It reports whether it
// removed anything.
func (q *Queue) dropOldestGOP() bool {
	first := -1
	next := -1
	for i := 0; i < q.n; i++ {
		au := q.at(i)
		if !au.Codec.IsVideo() {
			continue
		}
		if first < 0 {
			first = i
			continue
		}
		if au.Key {
			next = i
			break
		}
	}
	if first < 0 {
		return false
	}
	end := next
	if end < 0 {
		end = q.n
		q.waitKey = true
	}
	// Compact: keep audio in [first,end), drop video there.
	w := first
	for i := first; i < q.n; i++ {
		au := q.at(i)
		if i < end && au.Codec.IsVideo() {
			q.stats.DroppedVideo++
			continue
		}
		q.ring[(q.head+w)%len(q.ring)] = au
		w++
	}
	for i := w; i < q.n; i++ {
		q.ring[(q.head+i)%len(q.ring)] = nil
	}
	q.n = w
	q.stats.DroppedGOPs++
	return true
}

func (q *Queue) removeAt(i int) {
	for j := i; j < q.n-1; j++ {
		q.ring[(q.head+j)%len(q.ring)] = q.at(j + 1)
	}
	q.ring[(q.head+q.n-1)%len(q.ring)] = nil
	q.n--
}

// Pop returns the oldest access unit, waiting until one is queued, the
// context ends, or the queue is closed and drained (ErrQueueClosed).
func (q *Queue) Pop(ctx context.Context) (*AccessUnit, error) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			au := q.ring[q.head]
			q.ring[q.head] = nil
			q.head = (q.head + 1) % len(q.ring)
			q.n--
			more := q.n > 0
			q.mu.Unlock()
			if more {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			return au, nil
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, ErrQueueClosed
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.ready:
		}
	}
}

// Flush discards everything queued and makes the queue wait for a keyframe
// before taking video again: what a publisher wants when it reconnects, so
// the new connection starts on an IDR instead of stale frames.
func (q *Queue) Flush() {
	q.mu.Lock()
	for i := 0; i < q.n; i++ {
		q.ring[(q.head+i)%len(q.ring)] = nil
	}
	q.n = 0
	q.waitKey = true
	q.mu.Unlock()
}

// Close wakes Pop; queued units can still be popped.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Depth = q.n
	s.WaitingForKey = q.waitKey
	if q.n > 0 {
		s.QueuedMedia = q.at(q.n-1).DTS - q.at(0).DTS
	}
	return s
}

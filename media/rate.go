package media

import (
	"sync"
	"time"
)

// RateMeter measures units and bytes per second over the last full second,
// in ten 100 ms buckets, without allocating. The zero value is ready; it is
// safe for concurrent use.
type RateMeter struct {
	mu      sync.Mutex
	buckets [10]struct {
		slot  int64
		n     uint64
		bytes uint64
	}
}

const rateBucket = 100 * time.Millisecond

// Add counts one unit of n bytes.
func (m *RateMeter) Add(n uint64) {
	slot := time.Now().UnixNano() / int64(rateBucket)
	m.mu.Lock()
	b := &m.buckets[slot%int64(len(m.buckets))]
	if b.slot != slot {
		b.slot, b.n, b.bytes = slot, 0, 0
	}
	b.n++
	b.bytes += n
	m.mu.Unlock()
}

// Rate returns units/s and bytes/s over the last full second (the bucket
// being filled is left out).
func (m *RateMeter) Rate() (units, bytes float64) {
	now := time.Now().UnixNano() / int64(rateBucket)
	var n, b uint64
	m.mu.Lock()
	for _, k := range m.buckets {
		if k.slot < now && k.slot >= now-int64(len(m.buckets)) {
			n += k.n
			b += k.bytes
		}
	}
	m.mu.Unlock()
	return float64(n), float64(b)
}

// Bitrate is Rate's bytes in bit/s.
func (m *RateMeter) Bitrate() int {
	_, b := m.Rate()
	return int(b * 8)
}

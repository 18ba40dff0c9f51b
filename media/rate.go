package media

import (
	"sync"
	"time"
)

// RateMeter measures units and bytes per second over the last full second,
// in ten 100 ms buckets, without allocating. The zero value is ready; it is
// safe for concurrent use.
//
// The ring holds one bucket more than the second it sums: the one being
// filled. With ten, the bucket being filled took the place of the oldest
// one of the second, so the second lost its first tenth whenever a unit had
// come in since the last bucket began, and kept it otherwise: two meters of
// the same stream read at the same instant (the encoder's and the
// publisher's) differed by a tenth of a second's bytes in turn, depending
// on which of them had a unit in the last few milliseconds, and the bitrate
// controller read that as the link falling behind and catching up.
type RateMeter struct {
	mu      sync.Mutex
	buckets [rateBuckets + 1]struct {
		slot  int64
		n     uint64
		bytes uint64
	}
}

const (
	rateBucket  = 100 * time.Millisecond
	rateBuckets = int64(time.Second / rateBucket)
)

// Add counts one unit of n bytes.
func (m *RateMeter) Add(n uint64) { m.addAt(time.Now().UnixNano()/int64(rateBucket), n) }

func (m *RateMeter) addAt(slot int64, n uint64) {
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
	return m.rateAt(time.Now().UnixNano() / int64(rateBucket))
}

func (m *RateMeter) rateAt(now int64) (units, bytes float64) {
	var n, b uint64
	m.mu.Lock()
	for _, k := range m.buckets {
		if k.slot < now && k.slot >= now-rateBuckets {
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

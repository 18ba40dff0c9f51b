package media

import (
	"testing"
	"time"
)

func TestRateMeter(t *testing.T) {
	var m RateMeter
	if u, b := m.Rate(); u != 0 || b != 0 {
		t.Fatal("empty meter has a rate")
	}
	// 20 units of 1000 bytes over ~1 s of buckets.
	for i := 0; i < 20; i++ {
		m.Add(1000)
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	u, b := m.Rate()
	if u < 10 || u > 20 || b != u*1000 {
		t.Errorf("rate %v units/s, %v bytes/s after 20 units in 1 s", u, b)
	}
	if m.Bitrate() != int(b*8) {
		t.Error("Bitrate is not bytes*8")
	}
}

// TestRateMeterFullSecond: a steady stream reads the same whether or not a
// unit has come in since the bucket being filled began: the last full
// second, ten buckets, never nine.
func TestRateMeterFullSecond(t *testing.T) {
	var m RateMeter
	for slot := int64(1000); slot < 1020; slot++ { // one 100-byte unit a bucket
		m.addAt(slot, 100)
	}
	_, before := m.rateAt(1020) // nothing in bucket 1020 yet
	m.addAt(1020, 100)          // a unit in the bucket being filled
	_, after := m.rateAt(1020)
	if before != 1000 || after != 1000 {
		t.Fatalf("a steady 1000 bytes/s reads %v bytes/s, then %v once the bucket being filled has a unit", before, after)
	}
}

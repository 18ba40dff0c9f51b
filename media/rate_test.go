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

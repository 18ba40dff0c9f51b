package abr

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzUpdate: any configuration New accepts and any sequence of samples,
// however wrong, gives a bitrate in [Min, Max], at or under the cap (or Min),
// a rung on the ladder that moves only when the decision says so, and
// never panics.
func FuzzUpdate(f *testing.F) {
	f.Add(int64(testMin), int64(testMax), int64(0), int64(iv), 0.0, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(int64(1), int64(1), int64(1), int64(time.Millisecond), 0.99, []byte{255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0})
	f.Add(int64(100_000), int64(maxBitrate), int64(200_000), int64(time.Minute), math.NaN(), make([]byte, 200))
	f.Fuzz(func(t *testing.T, minRate, maxRate, start, interval int64, backoff float64, data []byte) {
		if minRate < math.MinInt32 || minRate > math.MaxInt32 || maxRate < math.MinInt32 || maxRate > math.MaxInt32 || start < math.MinInt32 || start > math.MaxInt32 {
			return // int is 32 bits on armv7; the fields are ints.
		}
		cfg := Config{Min: int(minRate), Max: int(maxRate), Start: int(start), Interval: time.Duration(interval), Backoff: backoff, Ladder: testLadder}
		if cfg.Validate() != nil {
			if _, err := New(cfg); err == nil {
				t.Fatalf("New accepted what Validate refused: %+v", cfg)
			}
			return
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatalf("Validate accepted, New refused: %v", err)
		}
		const rec = 16
		rung := 0
		for len(data) >= rec {
			b := data[:rec]
			data = data[rec:]
			u16 := func(i int) uint16 { return binary.LittleEndian.Uint16(b[i:]) }
			s := Sample{
				At:          time.Duration(int16(u16(0))) * 50 * time.Millisecond,
				SendRate:    int(int16(u16(2))) * 1000,
				EncoderRate: int(u16(4)) * 1000,
				RTT:         time.Duration(int16(u16(6))) * time.Millisecond,
				SendBuffer:  time.Duration(u16(8)) * time.Millisecond,
				Loss:        float64(int8(b[10])) / 100,
				QueueDelay:  time.Duration(b[11]) * 10 * time.Millisecond,
				QueueDrops:  uint64(b[12] >> 4),
				Target:      int(b[13]) * 20_000,
				Cap:         int(int8(b[14])) * 50_000,
			}
			if b[15]&1 != 0 {
				s.Loss = math.NaN()
			}
			d := c.Update(s)
			hi := cfg.Max
			if s.Cap > 0 {
				hi = max(min(hi, s.Cap), cfg.Min)
			}
			if d.Bitrate < cfg.Min || d.Bitrate > cfg.Max || d.Bitrate > hi && d.Reason != ReasonStaleSample {
				t.Fatalf("sample %+v: bitrate %d outside [%d, %d] (cap %d)", s, d.Bitrate, cfg.Min, cfg.Max, hi)
			}
			if d.Rung < 0 || d.Rung >= len(testLadder) || d.RungChanged != (d.Rung != rung) {
				t.Fatalf("sample %+v: rung %d (changed %v) after %d", s, d.Rung, d.RungChanged, rung)
			}
			rung = d.Rung
		}
	})
}

package media

import (
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// TestCaptureTimeSEI: the instant survives the round trip, including
// timestamps whose bytes need emulation prevention, and no 00 00 0x
// sequence is left in the unit.
func TestCaptureTimeSEI(t *testing.T) {
	for _, us := range []int64{
		time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC).UnixMicro(),
		0x0000_0000_0000_0001, // 00 00 00 ... 01: escapes needed
		0x0100_0003_0000_0200,
		1,
	} {
		at := time.UnixMicro(us)
		nalu := AppendCaptureTimeSEI(nil, at)
		for i := 0; i+2 < len(nalu); i++ {
			if nalu[i] == 0 && nalu[i+1] == 0 && nalu[i+2] < 3 {
				t.Errorf("%x: unescaped 00 00 %02x at %d", nalu, nalu[i+2], i)
			}
		}
		if h264.NALUType(nalu[0]&0x1f) != h264.NALUTypeSEI {
			t.Errorf("%x: NAL type %d", nalu, nalu[0]&0x1f)
		}
		got, ok := ParseCaptureTimeSEI(nalu)
		if !ok || !got.Equal(at) {
			t.Errorf("%d: parsed %v %v", us, got, ok)
		}
	}
	// Another SEI (recovery point, type 6) before ours in the same unit.
	other := []byte{0x06, 6, 1, 0x84}
	ours := AppendCaptureTimeSEI(nil, time.UnixMicro(42))
	both := append(other[:len(other):len(other)], ours[1:]...)
	if got, ok := ParseCaptureTimeSEI(both); !ok || got.UnixMicro() != 42 {
		t.Errorf("after another payload: %v %v", got, ok)
	}
	for _, bad := range [][]byte{nil, {0x06}, {0x65, 5, 24}, {0x06, 5, 24, 1, 2}, {0x06, 0xff, 0xff}, {0x06, 5, 0xff}} {
		if _, ok := ParseCaptureTimeSEI(bad); ok {
			t.Errorf("%x parsed", bad)
		}
	}
}

func FuzzParseCaptureTimeSEI(f *testing.F) {
	f.Add(AppendCaptureTimeSEI(nil, time.UnixMicro(123456789)))
	f.Add([]byte{0x06, 5, 24})
	f.Fuzz(func(t *testing.T, b []byte) { ParseCaptureTimeSEI(b) })
}

func BenchmarkAppendCaptureTimeSEI(b *testing.B) {
	buf := make([]byte, 0, 64)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendCaptureTimeSEI(buf[:0], now)
	}
}

// TestParameterSets finds SPS and PPS wherever they are in the unit.
func TestParameterSets(t *testing.T) {
	aud, sps, pps, sei, idr := []byte{0x09, 0xf0}, []byte{0x67, 1}, []byte{0x68, 2}, []byte{0x06, 5}, []byte{0x65, 3}
	for _, c := range []struct {
		nalus    [][]byte
		sps, pps []byte
	}{
		{[][]byte{sps, pps, idr}, sps, pps},
		{[][]byte{aud, sps, pps, sei, idr}, sps, pps},
		{[][]byte{aud, {}, idr}, nil, nil},
		{[][]byte{sei, pps}, nil, pps},
		{nil, nil, nil},
	} {
		s, p := ParameterSets(c.nalus)
		if string(s) != string(c.sps) || string(p) != string(c.pps) {
			t.Errorf("%x: SPS %x PPS %x", c.nalus, s, p)
		}
	}
}

//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

var (
	testSPS  = []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02}
	testSPS2 = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9} // High, level 3.1: a new size
	testPPS  = []byte{0x68, 0xce, 0x3c, 0x80}
)

func vid(dts, pts time.Duration, key bool, nalus ...[]byte) *media.AccessUnit {
	return &media.AccessUnit{Codec: media.CodecH264, DTS: dts, PTS: pts, Key: key, NALUs: nalus}
}

func aud(pts time.Duration, frame []byte) *media.AccessUnit {
	return &media.AccessUnit{Codec: media.CodecAAC, DTS: pts, PTS: pts, Key: true, NALUs: [][]byte{frame}}
}

// got is a copy of a tag (the muxer reuses its buffers).
type got struct {
	video bool
	ts    uint32
	body  []byte
}

func push(t *testing.T, m *muxer, au *media.AccessUnit) []got {
	t.Helper()
	tags, err := m.push(au)
	if err != nil {
		t.Fatal(err)
	}
	var out []got
	for _, tg := range tags {
		out = append(out, got{tg.video, tg.ts, bytes.Clone(tg.body)})
	}
	return out
}

func TestMuxer(t *testing.T) {
	ms := time.Millisecond
	idr, p1, aac := []byte{0x65, 1, 2}, []byte{0x41, 3}, []byte{0x21, 0x10}
	m := &muxer{video: media.VideoParams{Codec: media.CodecH264, SPS: testSPS, PPS: testPPS}}

	// Before the first keyframe nothing goes out, audio included.
	if g := push(t, m, aud(990*ms, aac)); g != nil {
		t.Errorf("audio before the first keyframe: %v", g)
	}
	if g := push(t, m, vid(995*ms, 995*ms, false, p1)); g != nil {
		t.Errorf("inter frame before the first keyframe: %v", g)
	}

	// The first keyframe: sequence header, then the frame, both at 0 ms
	// with the composition offset in the frame.
	g := push(t, m, vid(time.Second, time.Second+80*ms, true, []byte{0x09, 0xf0}, testSPS, testPPS, idr))
	if len(g) != 2 || !g[0].video || g[0].ts != 0 || g[0].body[1] != avcSequenceHeader || g[1].ts != 0 {
		t.Fatalf("first keyframe: %+v", g)
	}
	if want, _ := appendAVCSequenceHeader(nil, testSPS, testPPS); !bytes.Equal(g[0].body, want) {
		t.Errorf("sequence header % x", g[0].body)
	}
	if b := g[1].body; b[0] != 0x17 || b[1] != avcNALU || b[4] != 80 || binary.BigEndian.Uint32(b[5:]) != uint32(len(idr)) || !bytes.Equal(b[9:], idr) {
		t.Errorf("keyframe tag % x: want cts 80 and one length-prefixed IDR", b)
	}

	// Audio from before the keyframe that arrives after it is dropped;
	// later audio sits on the same clock.
	if g := push(t, m, aud(999*ms, aac)); g != nil {
		t.Errorf("audio older than the first keyframe: %v", g)
	}
	if g := push(t, m, aud(1021*ms, aac)); len(g) != 1 || g[0].video || g[0].ts != 21 || !bytes.Equal(g[0].body, []byte{0xaf, aacRaw, 0x21, 0x10}) {
		t.Errorf("audio at 1.021 s: %+v", g)
	}
	if g := push(t, m, vid(1033*ms, 1033*ms, false, p1)); len(g) != 1 || g[0].ts != 33 || g[0].body[0] != 0x27 {
		t.Errorf("inter frame: %+v", g)
	}

	// A keyframe with the same parameter sets (inline or only in the
	// track's params) needs no new header.
	if g := push(t, m, vid(2*time.Second, 2*time.Second, true, testSPS, testPPS, idr)); len(g) != 1 {
		t.Errorf("keyframe with unchanged SPS/PPS: %d tags", len(g))
	}
	if g := push(t, m, vid(3*time.Second, 3*time.Second, true, idr)); len(g) != 1 {
		t.Errorf("keyframe without inline SPS/PPS: %d tags", len(g))
	}

	// The encoder changed its SPS (new size): a new header before the frame.
	g = push(t, m, vid(4*time.Second, 4*time.Second, true, testSPS2, testPPS, idr))
	if len(g) != 2 || g[0].ts != 3000 || g[1].ts != 3000 {
		t.Fatalf("keyframe with a new SPS: %+v", g)
	}
	if want, _ := appendAVCSequenceHeader(nil, testSPS2, testPPS); !bytes.Equal(g[0].body, want) {
		t.Errorf("new sequence header % x", g[0].body)
	}
	// And back: the old one is new again.
	if g := push(t, m, vid(5*time.Second, 5*time.Second, true, testSPS, testPPS, idr)); len(g) != 2 {
		t.Errorf("SPS changed back: %d tags", len(g))
	}
}

func TestMuxerNoParameterSets(t *testing.T) {
	m := &muxer{video: media.VideoParams{Codec: media.CodecH264}}
	_, err := m.push(vid(0, 0, true, []byte{0x65, 1}))
	if !errors.Is(err, media.ErrCode(media.CodeEncoderFailed)) {
		t.Fatalf("keyframe without any SPS/PPS: %v, want encoder_failed", err)
	}
}

// muxUnits is a steady stream: a GOP of one keyframe (with inline SPS/PPS,
// as hardware encoders send them) and inter frames, audio in between.
func muxUnits() []*media.AccessUnit {
	ms := time.Millisecond
	idr := make([]byte, 40000)
	idr[0] = 0x65
	p := make([]byte, 8000)
	p[0] = 0x41
	aac := make([]byte, 300)
	units := []*media.AccessUnit{vid(0, 0, true, []byte{0x09, 0xf0}, testSPS, testPPS, idr)}
	for i := 1; i < 30; i++ {
		d := time.Duration(i) * 33 * ms
		units = append(units, aud(d-10*ms, aac), vid(d, d+33*ms, false, []byte{0x09, 0xf0}, p))
	}
	return units
}

// TestMuxerNoAllocs holds the FLV path to its promise: once the buffers
// have grown, muxing a unit allocates nothing.
func TestMuxerNoAllocs(t *testing.T) {
	units := muxUnits()
	m := &muxer{}
	for _, au := range units {
		m.push(au)
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, au := range units {
			if _, err := m.push(au); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per GOP, want 0", allocs)
	}
}

// BenchmarkMux is the per-unit FLV work: tag headers, AVCC conversion,
// timestamps, parameter-set checks. Reports allocs (0 expected).
func BenchmarkMux(b *testing.B) {
	units := muxUnits()
	m := &muxer{}
	var n int64
	for _, au := range units {
		n += int64(au.Size())
		m.push(au) // grow the buffers
	}
	b.SetBytes(n / int64(len(units)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.push(units[i%len(units)]); err != nil {
			b.Fatal(err)
		}
	}
}

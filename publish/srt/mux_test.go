package srt

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/asticode/go-astits"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
)

func TestMux(t *testing.T) {
	f := mediatest.Generate(t, mediatest.Options{Duration: 2 * time.Second})
	var stream bytes.Buffer
	var sizes []int
	m, err := newMuxer(f.Video, f.Audio, defaultPayload, func(msg []byte) error {
		sizes = append(sizes, len(msg))
		stream.Write(msg)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Audio that comes before the first IDR must not start the stream.
	early := *f.AudioUnits[0]
	early.DTS, early.PTS = -time.Second, -time.Second
	m.write(&early, false)
	if stream.Len() != 0 {
		t.Fatal("data sent before the first keyframe")
	}
	for _, au := range f.Units() {
		if err := m.write(au, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.finish(); err != nil {
		t.Fatal(err)
	}
	full := 0
	for _, n := range sizes {
		if n%188 != 0 || n > defaultPayload {
			t.Fatalf("SRT message of %d bytes", n)
		}
		if n == defaultPayload {
			full++
		}
	}
	if full*10 < len(sizes)*8 {
		t.Errorf("only %d of %d messages carry 7 TS packets", full, len(sizes))
	}

	// Read it back: tables first, PCR on video, timestamps monotonic,
	// random access on every IDR.
	dmx := astits.NewDemuxer(t.Context(), bytes.NewReader(stream.Bytes()))
	pcrs := 0
	first := true
	for {
		d, err := dmx.NextData()
		if errors.Is(err, astits.ErrNoMorePackets) || errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if first {
			if d.PAT == nil {
				t.Error("stream does not start with a PAT")
			}
			first = false
		}
		if d.FirstPacket != nil && d.FirstPacket.AdaptationField != nil {
			if d.FirstPacket.AdaptationField.HasPCR {
				pcrs++
			}
		}
	}
	if pcrs < 10 {
		t.Errorf("%d PCRs in 2 s", pcrs)
	}
	r := &mpegts.Reader{R: bytes.NewReader(stream.Bytes())}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var vpts, apts []int64
	keys, pes := 0, 0
	for _, tr := range r.Tracks() {
		switch tr.Codec.(type) {
		case *mpegts.CodecH264:
			r.OnDataH264(tr, func(pts, dts int64, au [][]byte) error {
				vpts = append(vpts, dts)
				for _, n := range au {
					if n[0]&0x1f == 5 { // IDR (x264 may cut it in slices)
						keys++
						break
					}
				}
				return nil
			})
		case *mpegts.CodecMPEG4Audio:
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error {
				// One PES, several frames, each a frame's time after the
				// one before.
				pes++
				for i := range aus {
					apts = append(apts, pts+int64(i)*m.frameTicks)
				}
				return nil
			})
		}
	}
	for r.Read() == nil {
	}
	if len(vpts) != len(f.VideoUnits) || keys != 2 {
		t.Errorf("read back %d video frames (%d IDR), want %d (2)", len(vpts), keys, len(f.VideoUnits))
	}
	for _, ts := range [][]int64{vpts, apts} {
		if !sort.SliceIsSorted(ts, func(i, j int) bool { return ts[i] < ts[j] }) {
			t.Error("timestamps not monotonic")
		}
	}
	if len(apts) < len(f.AudioUnits)-2 {
		t.Errorf("read back %d audio frames of %d", len(apts), len(f.AudioUnits))
	}
	// Bundled: at 30 fps about one and a half frames per PES, never more
	// than maxAudioBundle.
	if pes*5 > len(apts)*4 || pes*maxAudioBundle < len(apts) {
		t.Errorf("%d audio frames in %d PES: want them bundled, %d at most each", len(apts), pes, maxAudioBundle)
	}
	for i := 1; i < len(apts); i++ {
		if d := apts[i] - apts[i-1]; d < m.frameTicks*9/10 || d > m.frameTicks*11/10 {
			t.Errorf("audio frame %d is %d ticks after the one before, want %d", i, d, m.frameTicks)
			break
		}
	}
}

// BenchmarkMuxPublish measures the path from a popped access unit to the
// SRT message handed to the socket: allocations and time per unit.
func BenchmarkMuxPublish(b *testing.B) {
	f := mediatest.Generate(b, mediatest.Options{Width: 1280, Height: 720, Duration: 2 * time.Second, VideoBitrate: 2_000_000})
	units := f.Units()
	sent := 0
	m, err := newMuxer(f.Video, f.Audio, defaultPayload, func(msg []byte) error { sent += len(msg); return nil })
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := units[i%len(units)]
		au := *src
		off := time.Duration(i/len(units)) * 2 * time.Second
		au.PTS += off
		au.DTS += off
		start := time.Now()
		if err := m.write(&au, true); err != nil {
			b.Fatal(err)
		}
		if au.Codec == media.CodecH264 && len(lat) < 100000 {
			lat = append(lat, time.Since(start))
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
	}
}

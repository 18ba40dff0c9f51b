// Package mediatest makes encoded media for tests with an independent
// encoder (ffmpeg with libx264 and its native AAC encoder), so a publisher's
// tests do not depend on our own encoders being right.
package mediatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/glassagent/glassagent/media"
)

// Options describe the media to make. Zero values take the defaults in
// brackets.
type Options struct {
	Width, Height int           // [320x240]
	FPS           int           // [30]
	Duration      time.Duration // [2s]
	VideoBitrate  int           // bit/s [500k]
	SampleRate    int           // [48000]
	Channels      int           // [1]
	AudioBitrate  int           // bit/s [64k]
	ToneHz        int           // [440]
}

func (o *Options) defaults() {
	if o.Width == 0 {
		o.Width, o.Height = 320, 240
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.Duration == 0 {
		o.Duration = 2 * time.Second
	}
	if o.VideoBitrate == 0 {
		o.VideoBitrate = 500_000
	}
	if o.SampleRate == 0 {
		o.SampleRate = 48000
	}
	if o.Channels == 0 {
		o.Channels = 1
	}
	if o.AudioBitrate == 0 {
		o.AudioBitrate = 64_000
	}
	if o.ToneHz == 0 {
		o.ToneHz = 440
	}
}

// Fixture is an H.264 + AAC stream split into access units.
type Fixture struct {
	Video media.VideoParams
	Audio media.AudioParams
	// VideoUnits and AudioUnits are in decode order; every IDR carries SPS
	// and PPS in front, as our encoders guarantee.
	VideoUnits []*media.AccessUnit
	AudioUnits []*media.AccessUnit
}

// Generate runs ffmpeg to make the fixture. It fails the test when ffmpeg is
// missing: the project's test setup installs it.
func Generate(t testing.TB, o Options) *Fixture {
	t.Helper()
	o.defaults()
	ff := NeedTool(t, "ffmpeg")
	dir := t.TempDir()
	vpath := filepath.Join(dir, "v.h264")
	apath := filepath.Join(dir, "a.aac")
	secs := fmt.Sprintf("%.3f", o.Duration.Seconds())
	run := func(args ...string) {
		cmd := exec.Command(ff, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
		}
	}
	run("-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", o.Width, o.Height, o.FPS),
		"-t", secs, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline",
		"-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0",
		"-g", fmt.Sprint(o.FPS), "-keyint_min", fmt.Sprint(o.FPS), "-sc_threshold", "0",
		"-b:v", fmt.Sprint(o.VideoBitrate), "-x264-params", "repeat-headers=1:aud=1",
		"-f", "h264", vpath)
	run("-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=%d", o.ToneHz, o.SampleRate),
		"-t", secs, "-ac", fmt.Sprint(o.Channels), "-c:a", "aac", "-b:a", fmt.Sprint(o.AudioBitrate),
		"-f", "adts", apath)

	f := &Fixture{
		Video: media.VideoParams{Codec: media.CodecH264, Width: o.Width, Height: o.Height, FPS: o.FPS, Bitrate: o.VideoBitrate, GOP: o.FPS},
	}
	vb, err := os.ReadFile(vpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.splitH264(vb, o.FPS); err != nil {
		t.Fatal(err)
	}
	ab, err := os.ReadFile(apath)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.splitAAC(ab, o); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *Fixture) splitH264(b []byte, fps int) error {
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(b); err != nil {
		return fmt.Errorf("parse H.264: %w", err)
	}
	var cur *media.AccessUnit
	flush := func() {
		if cur != nil && len(cur.NALUs) > 0 {
			n := len(f.VideoUnits)
			cur.PTS = time.Duration(n) * time.Second / time.Duration(fps)
			cur.DTS = cur.PTS
			f.VideoUnits = append(f.VideoUnits, cur)
		}
		cur = nil
	}
	for _, n := range nalus {
		typ := h264.NALUType(n[0] & 0x1f)
		if typ == h264.NALUTypeAccessUnitDelimiter {
			flush()
			cur = &media.AccessUnit{Codec: media.CodecH264}
			continue
		}
		if cur == nil {
			cur = &media.AccessUnit{Codec: media.CodecH264}
		}
		switch typ {
		case h264.NALUTypeSPS:
			if f.Video.SPS == nil {
				f.Video.SPS = n
			}
		case h264.NALUTypePPS:
			if f.Video.PPS == nil {
				f.Video.PPS = n
			}
		case h264.NALUTypeIDR:
			cur.Key = true
		}
		cur.NALUs = append(cur.NALUs, n)
	}
	flush()
	if len(f.VideoUnits) == 0 || !f.VideoUnits[0].Key {
		return fmt.Errorf("H.264 fixture does not start with an IDR")
	}
	return nil
}

func (f *Fixture) splitAAC(b []byte, o Options) error {
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(b); err != nil {
		return fmt.Errorf("parse ADTS: %w", err)
	}
	asc := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: o.SampleRate, ChannelCount: o.Channels}
	conf, err := asc.Marshal()
	if err != nil {
		return err
	}
	f.Audio = media.AudioParams{Codec: media.CodecAAC, SampleRate: o.SampleRate, Channels: o.Channels, Bitrate: o.AudioBitrate, Config: conf, FrameSamples: 1024}
	for i, p := range pkts {
		pts := time.Duration(i) * 1024 * time.Second / time.Duration(o.SampleRate)
		f.AudioUnits = append(f.AudioUnits, &media.AccessUnit{Codec: media.CodecAAC, PTS: pts, DTS: pts, Key: true, NALUs: [][]byte{p.AU}})
	}
	return nil
}

// Units returns video and audio merged in DTS order.
func (f *Fixture) Units() []*media.AccessUnit {
	out := make([]*media.AccessUnit, 0, len(f.VideoUnits)+len(f.AudioUnits))
	v, a := 0, 0
	for v < len(f.VideoUnits) || a < len(f.AudioUnits) {
		if a >= len(f.AudioUnits) || (v < len(f.VideoUnits) && f.VideoUnits[v].DTS <= f.AudioUnits[a].DTS) {
			out = append(out, f.VideoUnits[v])
			v++
		} else {
			out = append(out, f.AudioUnits[a])
			a++
		}
	}
	return out
}

// Play pushes the fixture into q in DTS order, paced on the wall clock as an
// encoder would produce it, with Captured stamped from the pacing clock. It
// returns when everything was pushed or ctx ended. It does not close q.
func (f *Fixture) Play(ctx context.Context, q *media.Queue) error {
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for _, src := range f.Units() {
		if d := time.Until(start.Add(src.DTS)); d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		au := *src
		au.Captured = start.Add(src.PTS)
		q.Push(&au)
	}
	return nil
}

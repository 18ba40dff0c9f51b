package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish"
)

// The gate keeps the rung's rate exactly over any stretch, whatever the
// jitter of the capture timestamps, and a gap does not let a burst
// through.
func TestFrameGate(t *testing.T) {
	count := func(fps, src int, jitter time.Duration, gapFrom, gapTo time.Duration) (kept int, minDelta time.Duration) {
		var g frameGate
		g.set(fps, src)
		last := time.Duration(-1)
		minDelta = time.Hour
		for i := 0; i < 10*src; i++ {
			pts := time.Duration(i) * time.Second / time.Duration(src)
			// Deterministic jitter: a saw of +-jitter.
			pts += time.Duration(i%5-2) * jitter / 2
			if pts >= gapFrom && pts < gapTo {
				continue
			}
			if g.keep(pts) {
				kept++
				if last >= 0 {
					minDelta = min(minDelta, pts-last)
				}
				last = pts
			}
		}
		return kept, minDelta
	}
	for _, c := range []struct {
		fps, src int
		jitter   time.Duration
		want     int
	}{
		{15, 30, 0, 150}, {15, 30, 4 * time.Millisecond, 150}, {20, 30, 0, 200}, {20, 30, 4 * time.Millisecond, 200},
		{10, 30, 0, 100}, {24, 60, 2 * time.Millisecond, 240}, {30, 30, 0, 300}, {60, 30, 0, 300},
	} {
		kept, minDelta := count(c.fps, c.src, c.jitter, -1, -1)
		if kept < c.want-1 || kept > c.want+1 {
			t.Errorf("%d fps from %d (jitter %v): kept %d of %d over 10 s, want %d", c.fps, c.src, c.jitter, kept, 10*c.src, c.want)
		}
		// A whole ratio keeps every n-th frame: never two closer.
		if n := c.src / c.fps; c.fps < c.src && c.src%c.fps == 0 && minDelta < time.Duration(n)*time.Second/time.Duration(c.src)-c.jitter*2 {
			t.Errorf("%d fps from %d: two kept frames %v apart", c.fps, c.src, minDelta)
		}
	}
	// Half a second without frames: after it, no catching up.
	kept, minDelta := count(15, 30, 0, 3*time.Second, 3500*time.Millisecond)
	if kept < 141 || kept > 143 || minDelta < 60*time.Millisecond {
		t.Errorf("with a 0.5 s gap: kept %d (want 142), closest %v", kept, minDelta)
	}
}

// collector is a publisher that keeps the video units the pipeline hands
// it: the pipeline's own output, before any transport.
type collector struct {
	mu    sync.Mutex
	units []*media.AccessUnit
}

func (c *collector) AudioCodec() media.Codec { return media.CodecAAC }
func (c *collector) Stats() publish.Stats    { return publish.Stats{} }
func (c *collector) Run(ctx context.Context, in publish.Input) error {
	if in.OnConnected != nil {
		in.OnConnected()
	}
	for {
		au, err := in.Queue.Pop(ctx)
		if err != nil {
			return nil // closed by Finish, or ctx
		}
		if au.Codec == media.CodecH264 {
			c.mu.Lock()
			c.units = append(c.units, au)
			c.mu.Unlock()
		}
	}
}

// A running pipeline moves down a rung and back: the frames are scaled and
// dropped to the rung's rate, the encoder switches with a keyframe, the
// timestamps run on, and the Annex-B of the whole run decodes (ffmpeg) at
// each size in turn without an error.
func TestPipelineRungs(t *testing.T) {
	if !encode.SoftwareH264Available {
		t.Skip("needs the software H.264 encoder (cgo)")
	}
	cfg, err := Open(Spec{Camera: "test", Mic: "none", Width: 640, Height: 360, FPS: 30, Bitrate: 600_000, Encoder: "sw",
		AudioCodec: media.CodecAAC, SampleRate: 48000, Channels: 1, AudioBitrate: 64_000}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Stop()
	col := &collector{}
	done := make(chan error, 1)
	go func() { done <- pl.Publish(context.Background(), col, nil) }()

	waitRung := func(want Rung) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			r, note := pl.Rung()
			if r == want && note == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("rung %v (%q), want %v", r, note, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	small := Rung{Width: 320, Height: 180, FPS: 15}
	pl.SetRung(small)
	waitRung(small)
	time.Sleep(1500 * time.Millisecond)
	skipped := pl.Stats().FramesSkipped
	own := Rung{Width: 640, Height: 360, FPS: 30}
	pl.SetRung(own)
	waitRung(own)
	time.Sleep(time.Second)
	pl.Finish()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if skipped < 15 {
		t.Errorf("%d frames skipped in 1.5 s at 15 of 30 fps", skipped)
	}

	units := col.units
	type run struct {
		w, h   int
		frames int
		deltas []time.Duration
	}
	var runs []run
	for i, au := range units {
		if i > 0 && au.PTS <= units[i-1].PTS {
			t.Fatalf("PTS went from %v to %v at unit %d", units[i-1].PTS, au.PTS, i)
		}
		if sps, _ := media.ParameterSets(au.NALUs); sps != nil {
			var s h264.SPS
			if err := s.Unmarshal(sps); err != nil {
				t.Fatal(err)
			}
			if len(runs) == 0 || runs[len(runs)-1].w != s.Width() || runs[len(runs)-1].h != s.Height() {
				if !au.Key {
					t.Errorf("unit %d: a new size without an IDR", i)
				}
				runs = append(runs, run{w: s.Width(), h: s.Height()})
			}
		}
		if len(runs) == 0 {
			t.Fatal("the first unit has no SPS")
		}
		r := &runs[len(runs)-1]
		if r.frames > 0 {
			r.deltas = append(r.deltas, au.PTS-units[i-1].PTS)
		}
		r.frames++
	}
	if len(runs) != 3 || runs[0].w != 640 || runs[1].w != 320 || runs[1].h != 180 || runs[2].w != 640 {
		t.Fatalf("sizes in order: %+v, want 640x360, 320x180, 640x360", runs)
	}
	// The step down's keyframe, and no other unit, is marked Resync: the
	// step back up is no answer to congestion.
	var resync []int
	for i, au := range units {
		if au.Resync {
			resync = append(resync, i)
		}
	}
	if first := runs[0].frames; len(resync) != 1 || resync[0] != first {
		t.Errorf("units marked Resync: %v, want only %d (the first at 320x180)", resync, first)
	}
	for i, r := range runs {
		want := time.Second / 30
		if i == 1 {
			want = time.Second / 15
		}
		for k, d := range r.deltas {
			if d < want*8/10 || d > want*12/10 {
				t.Errorf("%dx%d: frame %d follows the one before by %v, want about %v", r.w, r.h, k+1, d, want)
				break
			}
		}
	}
	path := filepath.Join(t.TempDir(), "rungs.h264")
	var annexB []byte
	for _, au := range units {
		for _, n := range au.NALUs {
			annexB = append(append(annexB, 0, 0, 0, 1), n...)
		}
	}
	if err := os.WriteFile(path, annexB, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(mediatest.NeedTool(t, "ffmpeg"), "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("ffmpeg decoding the run: %v\n%s", err, out)
	}
	t.Logf("%d units: %dx%d %d frames, %dx%d %d frames, %dx%d %d frames; %d frames skipped at 15 fps",
		len(units), runs[0].w, runs[0].h, runs[0].frames, runs[1].w, runs[1].h, runs[1].frames, runs[2].w, runs[2].h, runs[2].frames, skipped)
}

// sizeFixed is an encoder like the M2M one: it changes its frame rate but
// refuses a new size as unsupported.
type sizeFixed struct {
	*encode.SoftwareH264
	w, h int
}

func (e sizeFixed) Reconfigure(w, h, fps int) error {
	if w != e.w || h != e.h {
		return media.Errorf(media.CodeUnsupported, "this encoder keeps %dx%d", e.w, e.h)
	}
	return e.SoftwareH264.Reconfigure(w, h, fps)
}

// With an encoder that cannot change its size the rung's frame rate still
// applies, the size stays, and the note says why.
func TestPipelineRungFrameRateOnly(t *testing.T) {
	if !encode.SoftwareH264Available {
		t.Skip("needs the software H.264 encoder (cgo)")
	}
	cfg, err := Open(Spec{Camera: "test", Mic: "none", Width: 320, Height: 240, FPS: 30, Bitrate: 300_000, Encoder: "sw",
		AudioCodec: media.CodecAAC, SampleRate: 48000, Channels: 1, AudioBitrate: 64_000}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	cfg.VideoEncoder = sizeFixed{cfg.VideoEncoder.(*encode.SoftwareH264), 320, 240}
	pl, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Stop()
	col := &collector{}
	done := make(chan error, 1)
	go func() { done <- pl.Publish(context.Background(), col, nil) }()
	time.Sleep(300 * time.Millisecond)
	pl.SetRung(Rung{Width: 160, Height: 120, FPS: 10})
	time.Sleep(1500 * time.Millisecond)
	r, note := pl.Rung()
	pl.Finish()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r != (Rung{Width: 320, Height: 240, FPS: 10}) || !strings.Contains(note, "keeps 320x240") || !strings.Contains(note, "frame rate only") {
		t.Errorf("rung %v, note %q: want 320x240 at 10 fps and the reason", r, note)
	}
	units := col.units
	last := units[len(units)-1]
	n := 0
	for _, au := range units {
		if au.PTS > last.PTS-time.Second {
			n++
		}
	}
	if n < 9 || n > 11 {
		t.Errorf("%d frames in the last second, want 10", n)
	}
}

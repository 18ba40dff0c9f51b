package control

import (
	"fmt"
	"testing"

	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/publish"
)

func TestLadderFor(t *testing.T) {
	str := func(own pipeline.Rung, rungs []LadderRung) string {
		s := ""
		for _, r := range ladderFor(own, rungs) {
			s += fmt.Sprintf("%dx%d@%d ", r.Width, r.Height, r.FPS)
			if r.Floor > 0 {
				s += fmt.Sprintf("(%d) ", r.Floor)
			}
		}
		return s
	}
	for _, c := range []struct {
		own   pipeline.Rung
		rungs []LadderRung
		want  string
	}{
		// The default from the usual sizes: the stream's own first, its
		// own size in the list left out, widths from the aspect ratio.
		{pipeline.Rung{Width: 1280, Height: 720, FPS: 30}, DefaultLadder(), "1280x720@30 960x540@30 640x360@30 640x360@15 426x240@15 "},
		{pipeline.Rung{Width: 1920, Height: 1080, FPS: 30}, DefaultLadder(), "1920x1080@30 1280x720@30 960x540@30 640x360@30 640x360@15 426x240@15 "},
		{pipeline.Rung{Width: 640, Height: 480, FPS: 30}, DefaultLadder(), "640x480@30 480x360@30 480x360@15 320x240@15 "},
		// A slower stream: rungs faster than it are no step down.
		{pipeline.Rung{Width: 640, Height: 360, FPS: 15}, DefaultLadder(), "640x360@15 426x240@15 "},
		{pipeline.Rung{Width: 1280, Height: 720, FPS: 30}, nil, "1280x720@30 "},
		// An explicit width of another aspect ratio would stretch; a
		// floor above the one before is no step down.
		{pipeline.Rung{Width: 1280, Height: 720, FPS: 30}, []LadderRung{{Width: 640, Height: 480, FPS: 30}, {Width: 854, Height: 480, FPS: 30, MinBitrate: 400_000},
			{Height: 360, FPS: 30, MinBitrate: 500_000}, {Height: 360, FPS: 20, MinBitrate: 150_000}}, "1280x720@30 854x480@30 (400000) 640x360@20 (150000) "},
	} {
		if got := str(c.own, c.rungs); got != c.want {
			t.Errorf("%v:\n got %s\nwant %s", c.own, got, c.want)
		}
	}
	// Whatever the stream asks, the ladder it gets is one the controller
	// takes.
	for _, own := range []pipeline.Rung{{Width: 1280, Height: 720, FPS: 30}, {Width: 16, Height: 16, FPS: 1}, {Width: 4096, Height: 2160, FPS: 60}, {Width: 400, Height: 4000, FPS: 7}} {
		spec := pipeline.Spec{Width: own.Width, Height: own.Height, FPS: own.FPS, AudioBitrate: 64_000}
		if _, err := newRateControl(Defaults().Adapt, spec, 2_000_000); err != nil {
			t.Errorf("%v: %v", own, err)
		}
	}
}

// Any ladder the configuration accepts (rungs that step down, floors that
// fall) and any stream size give a ladder the controller takes: a stream
// never fails to start for its ladder.
func FuzzLadderFor(f *testing.F) {
	f.Add(uint16(1280), uint16(720), uint8(30), []byte{0, 3, 30, 0, 0, 2, 30, 0, 0, 1, 15, 0})
	f.Add(uint16(16), uint16(16), uint8(1), []byte{1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, w, h uint16, fps uint8, data []byte) {
		own := pipeline.Rung{Width: int(w%4096+16) &^ 1, Height: int(h%4096+16) &^ 1, FPS: int(fps%60) + 1}
		var rungs []LadderRung
		height, rate, floor := 4096, 60, 20_000_000
		for len(data) >= 4 && len(rungs) < 7 {
			b := data[:4]
			data = data[4:]
			// Each rung at or below the one before, as the file allows.
			r := LadderRung{Height: max(height-int(b[1])*16, 16), FPS: max(rate-int(b[2]%60), 1)}
			if b[0]&1 != 0 {
				r.Width = int(b[0]) * 16
			}
			if b[3] != 0 && floor > 10_000 {
				r.MinBitrate = max(floor-int(b[3])*10_000, 10_000)
				floor = r.MinBitrate - 1
			}
			height, rate = r.Height, r.FPS
			rungs = append(rungs, r)
		}
		spec := pipeline.Spec{Width: own.Width, Height: own.Height, FPS: own.FPS, AudioBitrate: 64_000}
		cfg := Defaults().Adapt
		cfg.Ladder = rungs
		if _, err := newRateControl(cfg, spec, 2_000_000); err != nil {
			t.Fatalf("%v with %+v: %v", own, rungs, err)
		}
	})
}

// A transport target a quarter or more under the video's rate (audio
// taken out) is taken between samples; a smaller one, none, or one above
// waits for the next sample.
func TestTargetCut(t *testing.T) {
	spec := pipeline.Spec{Width: 1280, Height: 720, FPS: 30, AudioBitrate: 32_000}
	rc, err := newRateControl(Defaults().Adapt, spec, 1_500_000)
	if err != nil {
		t.Fatal(err)
	}
	v := rc.ctl.Bitrate()
	for _, c := range []struct {
		target int
		want   bool
	}{
		{0, false},
		{v + 32_000, false},
		{v*4/5 + 32_000, false},
		{v*7/10 + 32_000, true},
		{150_000, true},
	} {
		if got := rc.targetCut(publish.Stats{TargetBitrate: c.target}); got != c.want {
			t.Errorf("target %d with the video at %d: %v, want %v", c.target, v, got, c.want)
		}
	}
}

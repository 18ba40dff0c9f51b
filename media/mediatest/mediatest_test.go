package mediatest

import (
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

func TestGenerate(t *testing.T) {
	f := Generate(t, Options{Duration: time.Second, FPS: 25})
	if got := len(f.VideoUnits); got != 25 {
		t.Errorf("video units = %d, want 25", got)
	}
	// 1 s of 48 kHz audio in 1024-sample frames is 46.9 frames; ffmpeg's
	// AAC encoder flushes a frame or two of priming around it.
	if got := len(f.AudioUnits); got < 46 || got > 50 {
		t.Errorf("audio units = %d, want about 47", got)
	}
	if f.Video.SPS == nil || f.Video.PPS == nil || len(f.Audio.Config) != 2 {
		t.Errorf("missing parameter sets: sps %d pps %d asc %d", len(f.Video.SPS), len(f.Video.PPS), len(f.Audio.Config))
	}
	var last time.Duration = -1
	for _, au := range f.Units() {
		if au.DTS < last {
			t.Fatalf("units out of DTS order at %v < %v", au.DTS, last)
		}
		last = au.DTS
		if au.Codec == media.CodecH264 && au.Key && len(au.NALUs) < 3 {
			t.Errorf("IDR at %v has %d NALUs, want SPS+PPS+IDR", au.PTS, len(au.NALUs))
		}
	}
}

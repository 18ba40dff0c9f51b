package capture

import (
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/v4l2"
)

func discrete(sizes ...[2]int) []v4l2.FrameSize {
	var out []v4l2.FrameSize
	for _, s := range sizes {
		out = append(out, v4l2.FrameSize{MinW: s[0], MaxW: s[0], MinH: s[1], MaxH: s[1]})
	}
	return out
}

func TestNegotiate(t *testing.T) {
	stepwise := []v4l2.FrameSize{{MinW: 16, MaxW: 1920, StepW: 2, MinH: 16, MaxH: 1080, StepH: 2}}
	cases := []struct {
		name   string
		offers []v4l2.FormatDesc
		w, h   int
		want   uint32
		errHas string
	}{
		{"NV12 over YUYV", []v4l2.FormatDesc{{FourCC: v4l2.FourCCYUYV, Sizes: discrete([2]int{640, 480})}, {FourCC: v4l2.FourCCNV12, Sizes: discrete([2]int{640, 480})}}, 640, 480, v4l2.FourCCNV12, ""},
		{"I420 over YUYV", []v4l2.FormatDesc{{FourCC: v4l2.FourCCYUYV, Sizes: stepwise}, {FourCC: v4l2.FourCCI420, Sizes: stepwise}}, 640, 360, v4l2.FourCCI420, ""},
		{"NV12M when only multi-planar", []v4l2.FormatDesc{{FourCC: v4l2.FourCCNV12M, Sizes: stepwise}, {FourCC: v4l2.FourCCYUYV, Sizes: stepwise}}, 320, 240, v4l2.FourCCNV12M, ""},
		{"YUYV when that is all", []v4l2.FormatDesc{{FourCC: 0x47504a4d /* MJPG */, Sizes: stepwise}, {FourCC: v4l2.FourCCYUYV, Sizes: discrete([2]int{1280, 720})}}, 1280, 720, v4l2.FourCCYUYV, ""},
		{"size decides", []v4l2.FormatDesc{{FourCC: v4l2.FourCCNV12, Sizes: discrete([2]int{1920, 1080})}, {FourCC: v4l2.FourCCYUYV, Sizes: discrete([2]int{640, 480})}}, 640, 480, v4l2.FourCCYUYV, ""},
		{"stepwise off the step", []v4l2.FormatDesc{{FourCC: v4l2.FourCCNV12, Sizes: []v4l2.FrameSize{{MinW: 16, MaxW: 1920, StepW: 16, MinH: 16, MaxH: 1080, StepH: 16}}}}, 648, 480, 0, "cannot give 648x480"},
		{"no sizes listed", []v4l2.FormatDesc{{FourCC: v4l2.FourCCI420}}, 640, 480, v4l2.FourCCI420, ""},
		{"no usable format", []v4l2.FormatDesc{{FourCC: 0x47504a4d, Sizes: stepwise}}, 640, 480, 0, "only MJPG"},
		{"size missing", []v4l2.FormatDesc{{FourCC: v4l2.FourCCYUYV, Sizes: discrete([2]int{640, 480}, [2]int{320, 240})}}, 1280, 720, 0, "320x240 640x480"},
	}
	for _, c := range cases {
		got, err := negotiate(c.offers, c.w, c.h)
		if c.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), c.errHas) || media.CodeOf(err) != media.CodeCameraFailed {
				t.Errorf("%s: err %v, want one containing %q with camera_failed", c.name, err, c.errHas)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %s, %v; want %s", c.name, v4l2.FourCCString(got), err, v4l2.FourCCString(c.want))
		}
	}
}

func TestFramePlanes(t *testing.T) {
	w, h := 8, 4
	// Single-planar NV12 with padded lines (stride 16).
	buf := make([]byte, 16*h*3/2+100)
	f := v4l2.QueueFormat{Width: w, Height: h, BytesPerLine: []int{16}}
	planes, strides, err := framePlanes(v4l2.FourCCNV12, f, [][]byte{buf}, []int{0}, []int{16 * 6}, nil, nil)
	if err != nil || len(planes) != 2 || len(planes[0]) != 64 || len(planes[1]) != 32 || strides[0] != 16 || strides[1] != 16 {
		t.Fatalf("NV12: %d planes, strides %v, %v", len(planes), strides, err)
	}
	if &planes[1][0] != &buf[64] {
		t.Error("NV12 UV plane does not start after Y")
	}
	// Contiguous YU12.
	f.BytesPerLine = []int{8}
	planes, strides, err = framePlanes(v4l2.FourCCI420, f, [][]byte{buf}, []int{0}, []int{48}, nil, nil)
	if err != nil || len(planes) != 3 || len(planes[1]) != 8 || len(planes[2]) != 8 || strides[1] != 4 || &planes[2][0] != &buf[40] {
		t.Fatalf("YU12: strides %v, %v", strides, err)
	}
	// Multi-planar NM12, data offset on the second plane.
	y, uv := make([]byte, 32), make([]byte, 24)
	f.BytesPerLine = []int{8, 8}
	planes, _, err = framePlanes(v4l2.FourCCNV12M, f, [][]byte{y, uv}, []int{0, 8}, []int{32, 16}, nil, nil)
	if err != nil || len(planes) != 2 || &planes[1][0] != &uv[8] || len(planes[1]) != 16 {
		t.Fatalf("NM12: %v", err)
	}
	// A short buffer is an error, not a panic.
	if _, _, err := framePlanes(v4l2.FourCCNV12, f, [][]byte{buf}, []int{0}, []int{40}, nil, nil); err == nil {
		t.Error("short NV12 buffer accepted")
	}
	if _, _, err := framePlanes(v4l2.FourCCNV12M, f, [][]byte{y}, []int{0}, []int{32}, nil, nil); err == nil {
		t.Error("missing plane accepted")
	}
	// Reusing the slices allocates nothing.
	p, s := make([][]byte, 0, 3), make([]int, 0, 3)
	f.BytesPerLine = []int{16}
	if n := testing.AllocsPerRun(100, func() {
		p, s, _ = framePlanes(v4l2.FourCCNV12, f, [][]byte{buf}, []int{0}, []int{96}, p, s)
	}); n != 0 {
		t.Errorf("framePlanes allocates %v times", n)
	}
}

func TestMapTimestamp(t *testing.T) {
	mono := v4l2.BufFlagTimestampMonotonic
	off := 5 * time.Second // pipeline = monotonic + 5 s
	now := 10 * time.Second
	cases := []struct {
		ts    time.Duration
		flags uint32
		want  time.Duration
	}{
		{now - off - 20*time.Millisecond, uint32(mono), now - 20*time.Millisecond}, // normal: 20 ms ago
		{now - off - 20*time.Millisecond, 0x4000 /* COPY */, now},                  // not the monotonic clock
		{now - off + time.Second, uint32(mono), now},                               // in the future
		{now - off - 3*time.Second, uint32(mono), now},                             // stale
		{0, uint32(mono), now},                                                     // not stamped
	}
	for _, c := range cases {
		if got := mapTimestamp(c.ts, c.flags, off, now); got != c.want {
			t.Errorf("ts %v flags %#x: %v, want %v", c.ts, c.flags, got, c.want)
		}
	}
	// The real offset lines up with the clock.
	clock := media.NewClock()
	time.Sleep(time.Millisecond)
	o := monoOffset(clock)
	ts := clockMonotonic()
	if d := clock.Now() - (ts + o); d < 0 || d > 50*time.Millisecond {
		t.Errorf("mapped CLOCK_MONOTONIC is %v off the pipeline clock", d)
	}
}

func TestSequenceGaps(t *testing.T) {
	c := &Camera{}
	for _, s := range []uint32{7, 8, 9, 12, 13, 20} {
		c.countSequence(s)
	}
	if got := c.lost.Load(); got != 2+6 {
		t.Errorf("lost %d, want 8", got)
	}
}

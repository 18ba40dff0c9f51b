package capture

import (
	"fmt"
	"sort"
	"strings"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/v4l2"
)

// V4L2 pixel formats we can take, in order of preference: the 4:2:0 ones
// the encoders take as they are (zero copy), contiguous or one memory plane
// per colour plane, then packed YUYV, converted to I420 once per frame.
var camPreference = []uint32{v4l2.FourCCNV12, v4l2.FourCCI420, v4l2.FourCCNV12M, v4l2.FourCCI420M, v4l2.FourCCYUYV}

// negotiate picks the most preferred pixel format that the camera offers
// at exactly w x h. The encoder is configured for the size asked, so a
// camera that cannot give it is an error that says what it can give.
func negotiate(offers []v4l2.FormatDesc, w, h int) (uint32, error) {
	byCode := map[uint32]v4l2.FormatDesc{}
	for _, f := range offers {
		byCode[f.FourCC] = f
	}
	usable := false
	for _, code := range camPreference {
		f, ok := byCode[code]
		if !ok {
			continue
		}
		usable = true
		// A driver that lists no sizes takes what S_FMT is given.
		if len(f.Sizes) == 0 {
			return code, nil
		}
		for _, s := range f.Sizes {
			if s.Fits(w, h) {
				return code, nil
			}
		}
	}
	if !usable {
		var names []string
		for _, f := range offers {
			names = append(names, v4l2.FourCCString(f.FourCC))
		}
		return 0, media.Errorf(media.CodeCameraFailed, "camera offers none of NV12, YU12, NM12, YM12, YUYV (only %s)", strings.Join(names, " "))
	}
	seen := map[string]bool{}
	var sizes []string
	for _, code := range camPreference {
		for _, s := range byCode[code].Sizes {
			if !seen[s.String()] {
				seen[s.String()] = true
				sizes = append(sizes, s.String())
			}
		}
	}
	sort.Strings(sizes)
	return 0, media.Errorf(media.CodeCameraFailed, "camera cannot give %dx%d in a usable format; sizes: %s", w, h, strings.Join(sizes, " "))
}

// framePlanes slices a dequeued buffer into the planes of a media frame.
// mem holds the buffer's memory planes (one for contiguous formats, one per
// colour plane for NM12/YM12), off and used where the data starts and how
// long it is. It allocates nothing when planes/strides have capacity.
func framePlanes(fourcc uint32, f v4l2.QueueFormat, mem [][]byte, off, used []int, planes [][]byte, strides []int) ([][]byte, []int, error) {
	planes, strides = planes[:0], strides[:0]
	h, ch := f.Height, (f.Height+1)/2
	need := func(what string, b []byte, n int) error {
		if len(b) < n {
			return fmt.Errorf("%s plane has %d bytes, the format needs %d", what, len(b), n)
		}
		return nil
	}
	data := func(p int) []byte {
		if p >= len(mem) || p >= len(off) || p >= len(used) {
			return nil
		}
		end := min(off[p]+used[p], len(mem[p]))
		if off[p] > end {
			return nil
		}
		return mem[p][off[p]:end]
	}
	bpl := func(p int) int {
		if p < len(f.BytesPerLine) && f.BytesPerLine[p] > 0 {
			return f.BytesPerLine[p]
		}
		return 0
	}
	switch fourcc {
	case v4l2.FourCCNV12, v4l2.FourCCI420, v4l2.FourCCYUYV:
		b, s := data(0), bpl(0)
		if s == 0 {
			return nil, nil, fmt.Errorf("driver gave no line length")
		}
		switch fourcc {
		case v4l2.FourCCYUYV:
			if err := need("YUYV", b, s*h); err != nil {
				return nil, nil, err
			}
			return append(planes, b[:s*h]), append(strides, s), nil
		case v4l2.FourCCNV12:
			if err := need("NV12", b, s*h+s*ch); err != nil {
				return nil, nil, err
			}
			return append(planes, b[:s*h], b[s*h:s*h+s*ch]), append(strides, s, s), nil
		default:
			cs := s / 2
			if err := need("YU12", b, s*h+2*cs*ch); err != nil {
				return nil, nil, err
			}
			u := s * h
			return append(planes, b[:u], b[u:u+cs*ch], b[u+cs*ch:u+2*cs*ch]), append(strides, s, cs, cs), nil
		}
	case v4l2.FourCCNV12M, v4l2.FourCCI420M:
		n := 2
		if fourcc == v4l2.FourCCI420M {
			n = 3
		}
		for p := 0; p < n; p++ {
			b, s := data(p), bpl(p)
			rows := h
			if p > 0 {
				rows = ch
			}
			if s == 0 {
				return nil, nil, fmt.Errorf("driver gave no line length for plane %d", p)
			}
			if err := need(fmt.Sprintf("plane %d", p), b, s*rows); err != nil {
				return nil, nil, err
			}
			planes, strides = append(planes, b[:s*rows]), append(strides, s)
		}
		return planes, strides, nil
	}
	return nil, nil, fmt.Errorf("unsupported pixel format %s", v4l2.FourCCString(fourcc))
}

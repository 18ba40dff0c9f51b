package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/media"
)

// nodeByName finds a V4L2 node by its sysfs name (numbers depend on load
// order).
func nodeByName(t *testing.T, name string) string {
	t.Helper()
	paths, _ := filepath.Glob("/sys/class/video4linux/video*/name")
	var seen []string
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		n := strings.TrimSpace(string(b))
		seen = append(seen, n)
		if n == name {
			return "/dev/" + filepath.Base(filepath.Dir(p))
		}
	}
	t.Fatalf("no V4L2 node named %q (have %v)", name, seen)
	return ""
}

// vivid's default pattern is 75% colour bars: white, yellow, cyan, green,
// magenta, red, blue, black, left to right, each an eighth of the width.
// checkBars samples the middle row (the top rows carry vivid's text) at
// the middle of each bar: luma must fall bar after bar, from near 75%
// white to near black.
func checkBars(t *testing.T, f *media.VideoFrame) {
	t.Helper()
	w, h := f.Format.Width, f.Format.Height
	row := f.Planes[0][(h/2)*f.Strides[0]:]
	var ys []int
	for bar := 0; bar < 8; bar++ {
		ys = append(ys, int(row[bar*w/8+w/16]))
	}
	ok := ys[0] > 150 && ys[7] < 40
	for i := 1; i < 8; i++ {
		ok = ok && ys[i] < ys[i-1]-8
	}
	if !ok {
		t.Errorf("%dx%d: bar luma %v is not vivid's colour bars", w, h, ys)
	}
	// Chroma: the bars are coloured, so the chroma plane is not flat.
	c := f.Planes[1][(h/4)*f.Strides[1]:]
	lo, hi := 255, 0
	for x := 0; x < f.Strides[1] && x < w/2; x++ {
		lo, hi = min(lo, int(c[x])), max(hi, int(c[x]))
	}
	if hi-lo < 40 {
		t.Errorf("%dx%d: chroma row %d..%d, the bars have colour", w, h, lo, hi)
	}
}

// TestVividCapture: vivid single-planar (instance 0) and multi-planar
// (instance 1), at two sizes, in the format auto-negotiation picks and in
// YUYV (converted to I420): the frame count, the driver's sequence numbers,
// timestamps monotonic on the pipeline clock, and the picture.
func TestVividCapture(t *testing.T) {
	needGuest(t)
	for _, dev := range []struct{ name, node string }{
		{"single-planar", "vivid-000-vid-cap"}, {"multi-planar", "vivid-001-vid-cap"},
	} {
		path := nodeByName(t, dev.node)
		for _, size := range [][2]int{{640, 360}, {640, 480}} {
			for _, pix := range []string{"", "YUYV"} {
				name := fmt.Sprintf("%s/%s/%dx%d", dev.name, map[string]string{"": "auto", "YUYV": "YUYV"}[pix], size[0], size[1])
				t.Run(name, func(t *testing.T) { captureVivid(t, path, size[0], size[1], pix, dev.name == "multi-planar") })
			}
		}
	}
}

func captureVivid(t *testing.T, path string, w, h int, pix string, mplane bool) {
	clock := media.NewClock()
	cam, err := capture.OpenCameraWith(path, capture.CameraConfig{Width: w, Height: h, FPS: 25, PixelFormat: pix}, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	t.Logf("%s: %s, %v frames, %.1f fps, multi-planar %v", path, cam.PixelFormat(), cam.Format().Pixel, cam.FrameRate(), cam.Multiplanar())
	if cam.Multiplanar() != mplane {
		t.Errorf("multi-planar %v, want %v", cam.Multiplanar(), mplane)
	}
	if pix == "" && cam.Format().Pixel != media.PixelFormatNV12 {
		t.Errorf("auto picked %s (%v); vivid offers NV12", cam.PixelFormat(), cam.Format().Pixel)
	}
	if pix == "YUYV" && (cam.PixelFormat() != "YUYV" || cam.Format().Pixel != media.PixelFormatI420) {
		t.Errorf("YUYV gave %s as %v", cam.PixelFormat(), cam.Format().Pixel)
	}
	const n = 12
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var first, last time.Duration = -1, -1
	var firstSeq, lastSeq uint64
	var lat []time.Duration // kernel timestamp to the frame in our hands
	for i := 0; i < n; i++ {
		f, err := cam.Read(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		now := clock.Now()
		lat = append(lat, now-f.PTS)
		if f.Format.Width != w || f.Format.Height != h {
			t.Fatalf("frame %dx%d", f.Format.Width, f.Format.Height)
		}
		if f.PTS <= last || f.PTS > now {
			t.Errorf("frame %d: PTS %v after %v, read at %v", i, f.PTS, last, now)
		}
		if i > 0 && f.Seq <= lastSeq {
			t.Errorf("frame %d: sequence %d after %d", i, f.Seq, lastSeq)
		}
		if i == 0 {
			first, firstSeq = f.PTS, f.Seq
		}
		last, lastSeq = f.PTS, f.Seq
		if i == n-1 {
			checkBars(t, f)
		}
		f.Release()
	}
	slices.Sort(lat)
	t.Logf("capture to encoder input (driver timestamp to Read returning): p50 %v, max %v", lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	st := cam.Stats()
	span := lastSeq - firstSeq
	t.Logf("%d frames, sequence %d..%d, lost %d, skipped %d, %v apart on average", st.Frames, firstSeq, lastSeq, st.Lost, st.Skipped, (last-first)/time.Duration(n-1))
	if st.Frames != n || span != uint64(n-1)+st.Lost {
		t.Errorf("stats %+v with sequence span %d", st, span)
	}
	// The kernel's timestamps follow the driver's pace: vivid at 25 fps
	// on a slow TCG guest gives 40 ms or more per frame, never bursts of
	// stamps taken at dequeue time.
	if avg := (last - first) / time.Duration(span); avg < 30*time.Millisecond || avg > time.Second {
		t.Errorf("%v per sequence step; the driver runs at 25 fps", avg)
	}
}

// TestCameraLost: vivid's "Disconnect" control unregisters the device as an
// unplug does; Read must end with camera_lost, promptly, and a frame held
// across it stays readable until released.
func TestCameraLost(t *testing.T) {
	needGuest(t)
	path := nodeByName(t, "vivid-002-vid-cap")
	cam, err := capture.OpenCamera(path, 320, 180, 25, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	held, err := cam.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const vividDisconnect = 0x00f0f000 + 65
	if err := cam.SetControl(vividDisconnect, 0); err != nil {
		t.Fatal(err)
	}
	var rerr error
	for i := 0; i < 100 && rerr == nil; i++ {
		var f *media.VideoFrame
		f, rerr = cam.Read(ctx)
		if f != nil {
			f.Release()
		}
	}
	if media.CodeOf(rerr) != media.CodeCameraLost {
		t.Fatalf("after disconnect: %v (code %q), want camera_lost", rerr, media.CodeOf(rerr))
	}
	t.Logf("after disconnect: %v", rerr)
	if err := cam.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	_ = held.Planes[0][len(held.Planes[0])-1] // still mapped
	held.Release()
	if _, err := cam.Read(ctx); !errors.Is(err, capture.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
}

// TestProbeReport: the probe report on real drivers lists the vivid
// cameras with rates, the loopback card both ways, and no H.264 encoder
// (vicodec codes FWHT).
func TestProbeReport(t *testing.T) {
	needGuest(t)
	r := capture.Probe()
	var b strings.Builder
	r.WriteText(&b)
	t.Log("\n" + b.String())
	out := b.String()
	for _, want := range []string{"vivid (vivid, single-planar)", "vivid (vivid, multi-planar)", "YUYV 320x180@", "hw:0,1  Loopback"} {
		if !strings.Contains(out, want) {
			t.Errorf("probe report lacks %q", want)
		}
	}
	if len(r.Errors) != 0 {
		t.Errorf("probe errors: %v", r.Errors)
	}
}

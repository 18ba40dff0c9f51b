package guest

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media"
)

// TestM2MEncoderVicodec drives vicodec's stateful encoder through the same
// code as a hardware H.264 encoder (only the coded fourcc differs: FWHT),
// fed by the vivid camera: formats and MMAP buffers on both queues, every
// frame coded with its timestamps, a forced keyframe, the bitrate control
// reported unsupported (vicodec has none), and a drain that ends on the
// LAST buffer with every frame accounted for.
func TestM2MEncoderVicodec(t *testing.T) {
	needGuest(t)
	node := nodeByName(t, "stateful-encoder")
	if encs, _ := encode.ProbeM2MEncoders(); len(encs) != 0 {
		t.Errorf("vicodec (FWHT) listed as an H.264 encoder: %+v", encs)
	}
	const w, h, n, forceAt = 640, 360, 24, 5
	clock := media.NewClock()
	cam, err := capture.OpenCamera(nodeByName(t, "vivid-000-vid-cap"), w, h, 25, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	enc, err := encode.NewM2MCodec(node, encode.VideoConfig{Width: w, Height: h, FPS: 25, Bitrate: 1_000_000, GOP: 16}, encode.FourCCFWHT, cam.Format().Pixel)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: unsupported settings: %q", enc.Device(), enc.Unsupported())
	if err := enc.SetBitrate(2_000_000); media.CodeOf(err) != media.CodeUnsupported {
		t.Errorf("SetBitrate on vicodec: %v, want an unsupported error", err)
	} else {
		t.Logf("live bitrate: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var pts []time.Duration
	var units []*media.AccessUnit
	for i := 0; i < n; i++ {
		f, err := cam.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == forceAt {
			enc.ForceKeyframe()
		}
		pts = append(pts, f.PTS.Truncate(time.Microsecond))
		got, err := enc.Encode(f)
		f.Release()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		units = append(units, got...)
	}
	t.Logf("%d units before drain", len(units))
	rest, err := enc.Close()
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	units = append(units, rest...)
	if len(units) != n {
		t.Fatalf("%d coded frames for %d frames in (%d from the drain)", len(units), n, len(rest))
	}
	var keys []int
	for i, u := range units {
		b := u.NALUs[0]
		if len(b) < 28 || binary.BigEndian.Uint32(b[0:]) != 0x4f4f4f4f || binary.BigEndian.Uint32(b[4:]) != 0xffffffff {
			t.Fatalf("unit %d is not an FWHT frame: % x", i, b[:min(len(b), 16)])
		}
		if gw, gh := binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:]); gw != w || gh != h {
			t.Errorf("unit %d codes %dx%d", i, gw, gh)
		}
		if u.PTS != pts[i] || u.DTS != u.PTS {
			t.Errorf("unit %d: PTS %v DTS %v, frame %v", i, u.PTS, u.DTS, pts[i])
		}
		if u.Captured.IsZero() {
			t.Errorf("unit %d lost its capture time", i)
		}
		if u.Key {
			keys = append(keys, i)
		}
	}
	t.Logf("keyframes at %v", keys)
	if len(keys) == 0 || keys[0] != 0 {
		t.Fatalf("first frame not intra: keys %v", keys)
	}
	if len(keys) < 2 || keys[1] < forceAt || keys[1] > forceAt+2 {
		t.Fatalf("forced keyframe at %d not honoured within 2 frames: keys %v", forceAt, keys)
	}
	// The configured GOP (16) is back after the forced keyframe: P-frames
	// follow it.
	k := keys[1]
	p := 0
	for _, u := range units[k+1 : min(k+8, n)] {
		if !u.Key {
			p++
		}
	}
	if p < 4 {
		t.Errorf("after the forced keyframe at %d only %d P-frames in the next 7: keys %v", k, p, keys)
	}
	if _, err := enc.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

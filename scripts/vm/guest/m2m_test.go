package guest

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
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

// TestM2MZeroCopyFromCamera feeds vivid's frames to two vicodec encoders
// at once: one imports the camera's exported dma-bufs, the other gets the
// same frames copied. The coded frames must be byte for byte the same
// (vicodec is deterministic), which shows the import reads the very
// pixels the camera wrote; every camera buffer must come back, and a
// layout the encoder cannot import (vivid's two-plane NM12 into a
// single-planar vicodec) must fall back to copying and say why.
func TestM2MZeroCopyFromCamera(t *testing.T) {
	needGuest(t)
	node := nodeByName(t, "stateful-encoder")
	const n = 20
	for _, c := range []struct {
		name, cam, pix string
		w, h           int
		zeroCopy       bool
	}{
		{"single-planar", "vivid-000-vid-cap", "", 1280, 720, true},
		{"multi-planar API, one plane", "vivid-001-vid-cap", "NV12", 1280, 720, true},
		{"two memory planes", "vivid-001-vid-cap", "NM12", 1280, 720, false},
		// vicodec codes whole 8x8 blocks: 360 lines are 368 in its
		// buffers, so the chroma of a 360-line camera buffer sits
		// elsewhere.
		{"height padded by the encoder", "vivid-000-vid-cap", "", 640, 360, false},
	} {
		w, h := c.w, c.h
		t.Run(c.name, func(t *testing.T) {
			clock := media.NewClock()
			cam, err := capture.OpenCameraWith(nodeByName(t, c.cam), capture.CameraConfig{Width: w, Height: h, FPS: 25, PixelFormat: c.pix}, clock)
			if err != nil {
				t.Fatal(err)
			}
			defer cam.Close()
			if err := cam.DMABufExport(); err != nil {
				t.Fatalf("vivid exports no dma-bufs: %v", err)
			}
			cfg := encode.VideoConfig{Width: w, Height: h, FPS: 25, Bitrate: 1_000_000, GOP: 10}
			imp, err := encode.NewM2MCodec(node, cfg, encode.FourCCFWHT, cam.Format().Pixel)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := encode.NewM2MCodec(node, cfg, encode.FourCCFWHT, cam.Format().Pixel)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var a, b []*media.AccessUnit
			for i := 0; i < n; i++ {
				f, err := cam.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				plain := *f // the same pixels, without the dma-buf or the buffer's release
				plain.DMABuf = nil
				plain.SetRelease(nil)
				got, err := cp.Encode(&plain)
				if err != nil {
					t.Fatalf("copy, frame %d: %v", i, err)
				}
				b = append(b, got...)
				got, err = imp.Encode(f)
				f.Release() // a no-op when the encoder kept the buffer
				if err != nil {
					t.Fatalf("import, frame %d: %v", i, err)
				}
				a = append(a, got...)
			}
			how, imported, copied := imp.Input()
			t.Logf("%s (%s): %s; %d imported, %d copied",
				c.name, cam.PixelFormat(), how, imported, copied)
			if c.zeroCopy && (imported != n || copied != 0) {
				t.Errorf("%d frames imported and %d copied, want all %d imported (%s)", imported, copied, n, how)
			}
			if !c.zeroCopy && (imported != 0 || copied != n || !strings.HasPrefix(how, "copy: ")) {
				t.Errorf("%d imported, %d copied (%s): want every frame copied, with the reason", imported, copied, how)
			}
			if how2, _, copied2 := cp.Input(); copied2 != n || !strings.Contains(how2, "no dma-buf") {
				t.Errorf("the copying encoder: %s, %d copied", how2, copied2)
			}
			for _, e := range []*encode.M2MEncoder{imp, cp} {
				rest, err := e.Close()
				if err != nil {
					t.Fatalf("drain: %v", err)
				}
				if e == imp {
					a = append(a, rest...)
				} else {
					b = append(b, rest...)
				}
			}
			if len(a) != n || len(b) != n {
				t.Fatalf("%d frames coded from imports, %d from copies, want %d each", len(a), len(b), n)
			}
			for i := range a {
				if !bytes.Equal(a[i].NALUs[0], b[i].NALUs[0]) || a[i].PTS != b[i].PTS || a[i].Key != b[i].Key {
					t.Fatalf("frame %d coded differently from the imported buffer (%d bytes, key %v) and from the copy (%d bytes, key %v)",
						i, len(a[i].NALUs[0]), a[i].Key, len(b[i].NALUs[0]), b[i].Key)
				}
			}
			// Every buffer the encoder held is the camera's again: more
			// frames than it has buffers still come.
			for i := 0; i < 12; i++ {
				f, err := cam.Read(ctx)
				if err != nil {
					t.Fatalf("after the encoders closed, frame %d: %v (buffers not given back?)", i, err)
				}
				f.Release()
			}
			if st := cam.Stats(); st.Skipped != 0 {
				t.Logf("camera skipped %d frames", st.Skipped)
			}
		})
	}
}

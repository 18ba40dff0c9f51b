//go:build cgo

package encode

import (
	"bytes"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/glassagent/glassagent/media"
)

// SoftwareH264 encodes with openh264 through pion/mediadevices, whose module
// ships openh264's static libraries for linux x64, arm64 and armv7, so the
// fallback needs nothing installed on the device.
//
// openh264 emits constrained baseline (profile_idc 66, constraint_set1), the
// profile every WebRTC peer accepts, and SPS+PPS in front of every IDR.
//
// Encode, SetBitrate and Close belong to one goroutine (the encoding loop);
// ForceKeyframe, SetBitrate and Params may be called from any goroutine.
type SoftwareH264 struct {
	cfg VideoConfig // the size, rate and GOP now (Reconfigure changes them)
	// gop is the keyframe interval as asked at creation, in frames at the
	// frame rate asked: Reconfigure keeps it in time, not in frames.
	gop, gopFPS int
	enc         codec.ReadCloser
	ctl         interface {
		SetBitRate(int) error
		ForceKeyFrame() error
	}
	// cur is the frame being encoded. mediadevices' encoder pulls frames
	// from a video.Reader; ours hands it cur, which Encode points at the
	// caller's planes just before asking for output, so no goroutine and
	// no copy are needed.
	cur     image.YCbCr
	i420    []byte // NV12 -> I420 chroma, reused across frames
	applied int    // bitrate the C encoder has now
	closed  bool

	mu     sync.Mutex // guards params, which other goroutines read
	params media.VideoParams

	bitrate  atomic.Int64 // requested; applied on the encoding goroutine
	forceKey atomic.Bool
}

// NewSoftwareH264 makes an openh264 encoder: constrained baseline, no
// B-frames, one slice per frame, an IDR every GOP frames (default one
// second) with SPS and PPS in front.
func NewSoftwareH264(cfg VideoConfig) (*SoftwareH264, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &SoftwareH264{cfg: cfg, gop: cfg.GOP, gopFPS: cfg.FPS}
	if err := e.open(cfg); err != nil {
		return nil, err
	}
	e.applied = cfg.Bitrate
	e.bitrate.Store(int64(cfg.Bitrate))
	e.params = media.VideoParams{Codec: media.CodecH264, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, Bitrate: cfg.Bitrate, GOP: cfg.GOP}
	return e, nil
}

// open builds the C encoder for cfg into e.enc and e.ctl.
func (e *SoftwareH264) open(cfg VideoConfig) error {
	p, err := openh264.NewParams()
	if err != nil {
		return media.Wrap(media.CodeEncoderFailed, err)
	}
	p.BitRate = cfg.Bitrate
	p.IntraPeriod = uint(cfg.GOP)
	// Every frame must come out: a skipped frame would leave a hole in the
	// frame count and the timestamps a receiver sees. openh264 warns that
	// it then cannot hold the bitrate strictly; in practice its QP control
	// stays within a few percent (see TestSoftwareH264SetBitrate).
	p.EnableFrameSkip = false
	p.UsageType = openh264.CameraVideoRealTime
	p.RCMode = openh264.RCBitrateMode
	// One slice per frame, as a hardware encoder gives; with one slice
	// openh264 would not use more threads anyway.
	p.SliceMode = openh264.SMSingleSlice
	p.SliceNum = 1
	p.MultipleThreadIdc = 1
	r := video.ReaderFunc(func() (image.Image, func(), error) { return &e.cur, func() {}, nil })
	enc, err := p.BuildVideoEncoder(r, prop.Media{Video: prop.Video{Width: cfg.Width, Height: cfg.Height, FrameRate: float32(cfg.FPS)}})
	if err != nil {
		return media.Errorf(media.CodeEncoderFailed, "openh264: %w", err)
	}
	ctl, ok := enc.Controller().(interface {
		SetBitRate(int) error
		ForceKeyFrame() error
	})
	if !ok {
		enc.Close()
		return media.Errorf(media.CodeEncoderFailed, "openh264 encoder has no bitrate/keyframe control")
	}
	e.enc, e.ctl = enc, ctl
	return nil
}

// Reconfigure changes the picture size and frame rate while running (a
// rung of the resolution ladder). Like Encode it belongs to the encoding
// goroutine. The next frame must have the new size; it comes out as an
// IDR with the new SPS and PPS in front, so every publisher can carry the
// change in band. The bitrate asked last and the keyframe interval (in
// time) carry over; timestamps are the frames' own, so they stay
// continuous.
//
// mediadevices does not expose openh264's SetOption for the picture size,
// so the C encoder is rebuilt: a few milliseconds, once per switch. On
// failure the old encoder keeps running.
func (e *SoftwareH264) Reconfigure(width, height, fps int) error {
	if e.closed {
		return media.Errorf(media.CodeEncoderFailed, "software H.264 encoder is closed")
	}
	cfg := VideoConfig{Width: width, Height: height, FPS: fps, Bitrate: int(e.bitrate.Load()), GOP: max(1, (e.gop*fps+e.gopFPS/2)/e.gopFPS)}
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.Width == e.cfg.Width && cfg.Height == e.cfg.Height && cfg.FPS == e.cfg.FPS {
		return nil
	}
	old, oldCtl := e.enc, e.ctl
	if err := e.open(cfg); err != nil {
		e.enc, e.ctl = old, oldCtl
		return err
	}
	closeErr := old.Close()
	if cfg.Width != e.cfg.Width || cfg.Height != e.cfg.Height {
		e.i420 = nil // NV12 chroma buffer of the old size
	}
	e.cfg, e.applied = cfg, cfg.Bitrate
	e.setParams(cfg)
	if closeErr != nil {
		// The new encoder runs; the old one's C memory may be lost.
		return media.Errorf(media.CodeEncoderFailed, "openh264 close after reconfiguring: %w", closeErr)
	}
	return nil
}

// setParams publishes a new configuration; SPS and PPS are unknown until
// its first IDR.
func (e *SoftwareH264) setParams(cfg VideoConfig) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.params.Width, e.params.Height, e.params.FPS, e.params.GOP, e.params.Bitrate = cfg.Width, cfg.Height, cfg.FPS, cfg.GOP, cfg.Bitrate
	e.params.SPS, e.params.PPS = nil, nil
}

// Params implements VideoEncoder. SPS and PPS are known after the first
// Encode.
func (e *SoftwareH264) Params() media.VideoParams {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.params
}

// SetBitrate implements VideoEncoder. It takes effect on the next frame.
func (e *SoftwareH264) SetBitrate(bps int) error {
	if bps < minBitrate || bps > maxBitrate {
		return media.Errorf(media.CodeInvalidConfig, "bitrate %d bit/s: must be %d to %d", bps, minBitrate, maxBitrate)
	}
	e.bitrate.Store(int64(bps))
	return nil
}

// ForceKeyframe implements VideoEncoder.
func (e *SoftwareH264) ForceKeyframe() { e.forceKey.Store(true) }

// Encode implements VideoEncoder. openh264 is synchronous: one frame in, one
// access unit out, with PTS = DTS = the frame's PTS.
func (e *SoftwareH264) Encode(f *media.VideoFrame) ([]*media.AccessUnit, error) {
	if e.closed {
		return nil, media.Errorf(media.CodeEncoderFailed, "software H.264 encoder is closed")
	}
	if err := e.setImage(f); err != nil {
		return nil, err
	}
	// Controls are applied here, on the encoding goroutine, because
	// openh264's are plain writes into the encoder's C struct, which a
	// concurrent EncodeFrame reads.
	if b := int(e.bitrate.Load()); b != e.applied {
		if err := e.ctl.SetBitRate(b); err != nil {
			return nil, media.Errorf(media.CodeEncoderFailed, "set bitrate: %w", err)
		}
		e.applied = b
		e.mu.Lock()
		e.params.Bitrate = b
		e.mu.Unlock()
	}
	if e.forceKey.Swap(false) {
		if err := e.ctl.ForceKeyFrame(); err != nil {
			return nil, media.Errorf(media.CodeEncoderFailed, "force keyframe: %w", err)
		}
	}
	// mediadevices copies the bitstream out of C memory (C.GoBytes), so
	// buf is ours and the NAL units may point into it.
	buf, release, err := e.enc.Read()
	if err != nil {
		return nil, media.Errorf(media.CodeEncoderFailed, "openh264: %w", err)
	}
	defer release()
	au, err := e.accessUnit(buf, f.PTS, f.Captured)
	if err != nil || au == nil {
		return nil, err
	}
	return []*media.AccessUnit{au}, nil
}

// accessUnit splits openh264's Annex-B output into NAL units and makes sure
// an IDR carries its parameter sets.
func (e *SoftwareH264) accessUnit(buf []byte, pts time.Duration, captured time.Time) (*media.AccessUnit, error) {
	if len(buf) == 0 {
		return nil, nil // openh264 skipped the frame (frame skip is off, so not expected)
	}
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(buf); err != nil {
		return nil, media.Errorf(media.CodeEncoderFailed, "openh264 output: %w", err)
	}
	au := &media.AccessUnit{Codec: media.CodecH264, PTS: pts, DTS: pts, Captured: captured, NALUs: nalus}
	var sps, pps []byte
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		case h264.NALUTypeIDR:
			au.Key = true
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// Params keeps its own copies: the caller owns the access unit and
	// may recycle its memory. They change only on a reconfiguration.
	if sps != nil && !bytes.Equal(sps, e.params.SPS) {
		e.params.SPS = bytes.Clone(sps)
	}
	if pps != nil && !bytes.Equal(pps, e.params.PPS) {
		e.params.PPS = bytes.Clone(pps)
	}
	// openh264 writes SPS and PPS before every IDR; should a build ever
	// not, the cached ones go in front so every IDR stays a join point.
	if au.Key && (sps == nil || pps == nil) {
		if e.params.SPS == nil || e.params.PPS == nil {
			return nil, media.Errorf(media.CodeEncoderFailed, "openh264 produced an IDR without SPS/PPS and none are known")
		}
		rest := au.NALUs[:0:0]
		for _, n := range au.NALUs {
			if len(n) == 0 {
				continue
			}
			if t := h264.NALUType(n[0] & 0x1f); t != h264.NALUTypeSPS && t != h264.NALUTypePPS {
				rest = append(rest, n)
			}
		}
		au.NALUs = append([][]byte{e.params.SPS, e.params.PPS}, rest...)
	}
	return au, nil
}

// setImage checks the frame and points the reader's image at its planes
// (I420) or at the conversion buffer (NV12). The checks matter: openh264 is
// C and reads the planes by stride and height without bounds.
func (e *SoftwareH264) setImage(f *media.VideoFrame) error {
	if f == nil {
		return media.Errorf(media.CodeEncoderFailed, "nil video frame")
	}
	w, h := e.cfg.Width, e.cfg.Height
	if f.Format.Width != w || f.Format.Height != h {
		return media.Errorf(media.CodeEncoderFailed, "frame is %dx%d, encoder is %dx%d", f.Format.Width, f.Format.Height, w, h)
	}
	cw, ch := w/2, h/2
	img := &e.cur
	img.Rect = image.Rect(0, 0, w, h)
	img.SubsampleRatio = image.YCbCrSubsampleRatio420
	switch f.Format.Pixel {
	case media.PixelFormatI420:
		if err := checkPlanes(f, 3, [3][3]int{{w, h}, {cw, ch}, {cw, ch}}); err != nil {
			return err
		}
		if f.Strides[1] != f.Strides[2] {
			// openh264 takes one chroma stride for both planes.
			return media.Errorf(media.CodeEncoderFailed, "I420 frame has U stride %d and V stride %d; they must match", f.Strides[1], f.Strides[2])
		}
		img.Y, img.Cb, img.Cr = f.Planes[0], f.Planes[1], f.Planes[2]
		img.YStride, img.CStride = f.Strides[0], f.Strides[1]
	case media.PixelFormatNV12:
		if err := checkPlanes(f, 2, [3][3]int{{w, h}, {w, ch}}); err != nil {
			return err
		}
		if e.i420 == nil {
			e.i420 = make([]byte, 2*cw*ch)
		}
		u, v := e.i420[:cw*ch], e.i420[cw*ch:]
		uv, stride := f.Planes[1], f.Strides[1]
		for row := 0; row < ch; row++ {
			line := uv[row*stride : row*stride+2*cw]
			ur, vr := u[row*cw:row*cw+cw], v[row*cw:row*cw+cw]
			for c := range ur {
				ur[c] = line[2*c]
				vr[c] = line[2*c+1]
			}
		}
		img.Y, img.Cb, img.Cr = f.Planes[0], u, v
		img.YStride, img.CStride = f.Strides[0], cw
	default:
		return media.Errorf(media.CodeEncoderFailed, "pixel format %s: the software encoder takes I420 or NV12", f.Format.Pixel)
	}
	return nil
}

// checkPlanes verifies that each of the first n planes holds rows of at
// least dims[i][0] bytes, dims[i][1] of them, at its stride.
func checkPlanes(f *media.VideoFrame, n int, dims [3][3]int) error {
	if len(f.Planes) < n || len(f.Strides) < n {
		return media.Errorf(media.CodeEncoderFailed, "%s frame has %d planes and %d strides, want %d", f.Format.Pixel, len(f.Planes), len(f.Strides), n)
	}
	for i := 0; i < n; i++ {
		rowBytes, rows, stride := dims[i][0], dims[i][1], f.Strides[i]
		if stride < rowBytes {
			return media.Errorf(media.CodeEncoderFailed, "%s plane %d stride %d is below its row size %d", f.Format.Pixel, i, stride, rowBytes)
		}
		if need := stride*(rows-1) + rowBytes; len(f.Planes[i]) < need {
			return media.Errorf(media.CodeEncoderFailed, "%s plane %d has %d bytes, want at least %d", f.Format.Pixel, i, len(f.Planes[i]), need)
		}
	}
	return nil
}

// Close implements VideoEncoder; openh264 holds no frames back, so there is
// nothing to drain. A second Close does nothing.
func (e *SoftwareH264) Close() ([]*media.AccessUnit, error) {
	if e.closed {
		return nil, nil
	}
	e.closed = true
	if err := e.enc.Close(); err != nil {
		return nil, media.Errorf(media.CodeEncoderFailed, "openh264 close: %w", err)
	}
	return nil, nil
}

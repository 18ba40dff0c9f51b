//go:build cgo

package encode

import (
	"fmt"
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

// SoftwareH264Available reports whether the openh264 fallback is compiled in
// (it needs cgo; the static device build has only the hardware encoder).
const SoftwareH264Available = true

// SoftwareH264 encodes with openh264 through pion/mediadevices, whose module
// ships openh264's static libraries for linux x64, arm64 and armv7, so the
// fallback needs nothing installed on the device.
type SoftwareH264 struct {
	cfg VideoConfig
	enc codec.ReadCloser
	ctl interface {
		SetBitRate(int) error
		ForceKeyFrame() error
	}
	cur      image.YCbCr // the frame being encoded, handed to openh264 by reader
	i420     []byte      // NV12 -> I420 conversion buffer, reused
	mu       sync.Mutex  // guards params, which other goroutines read
	params   media.VideoParams
	bitrate  atomic.Int64 // requested; applied on the encoding goroutine
	applied  int
	forceKey atomic.Bool
}

// NewSoftwareH264 makes an openh264 encoder: constrained baseline, no
// B-frames, an IDR every GOP frames (default one second) with SPS and PPS in
// front.
func NewSoftwareH264(cfg VideoConfig) (*SoftwareH264, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &SoftwareH264{cfg: cfg}
	p, err := openh264.NewParams()
	if err != nil {
		return nil, media.Wrap(media.CodeEncoderFailed, err)
	}
	p.BitRate = cfg.Bitrate
	p.IntraPeriod = uint(cfg.GOP)
	// Every frame must come out: frame skipping would break the frame
	// count and the timestamps a receiver sees.
	p.EnableFrameSkip = false
	p.UsageType = openh264.CameraVideoRealTime
	p.RCMode = openh264.RCBitrateMode
	// One slice per frame, as a hardware encoder gives.
	p.SliceMode = openh264.SMSingleSlice
	p.SliceNum = 1
	p.MultipleThreadIdc = 1
	r := video.ReaderFunc(func() (image.Image, func(), error) { return &e.cur, func() {}, nil })
	enc, err := p.BuildVideoEncoder(r, prop.Media{Video: prop.Video{Width: cfg.Width, Height: cfg.Height, FrameRate: float32(cfg.FPS)}})
	if err != nil {
		return nil, media.Errorf(media.CodeEncoderFailed, "openh264: %w", err)
	}
	e.enc = enc
	ctl, ok := enc.Controller().(interface {
		SetBitRate(int) error
		ForceKeyFrame() error
	})
	if !ok {
		enc.Close()
		return nil, media.Errorf(media.CodeEncoderFailed, "openh264 encoder has no bitrate/keyframe control")
	}
	e.ctl = ctl
	e.applied = cfg.Bitrate
	e.bitrate.Store(int64(cfg.Bitrate))
	e.params = media.VideoParams{Codec: media.CodecH264, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, Bitrate: cfg.Bitrate, GOP: cfg.GOP}
	return e, nil
}

// Params implements VideoEncoder.
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
// access unit out.
func (e *SoftwareH264) Encode(f *media.VideoFrame) ([]*media.AccessUnit, error) {
	if f.Format.Width != e.cfg.Width || f.Format.Height != e.cfg.Height {
		return nil, media.Errorf(media.CodeEncoderFailed, "frame is %dx%d, encoder is %dx%d", f.Format.Width, f.Format.Height, e.cfg.Width, e.cfg.Height)
	}
	if err := e.setImage(f); err != nil {
		return nil, err
	}
	// Controls are applied here, on the encoding goroutine, because
	// openh264's are plain writes into the encoder's C struct.
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
		e.ctl.ForceKeyFrame()
	}
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
		return nil, nil // openh264 skipped the frame
	}
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(buf); err != nil {
		return nil, media.Errorf(media.CodeEncoderFailed, "openh264 output: %w", err)
	}
	au := &media.AccessUnit{Codec: media.CodecH264, PTS: pts, DTS: pts, Captured: captured, NALUs: nalus}
	hasPS := false
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			e.params.SPS = n
			hasPS = true
		case h264.NALUTypePPS:
			e.params.PPS = n
		case h264.NALUTypeIDR:
			au.Key = true
		}
	}
	if au.Key && !hasPS && e.params.SPS != nil {
		au.NALUs = append([][]byte{e.params.SPS, e.params.PPS}, au.NALUs...)
	}
	return au, nil
}

// setImage points the reader's image at the frame's planes (I420) or at
// the conversion buffer (NV12).
func (e *SoftwareH264) setImage(f *media.VideoFrame) error {
	w, h := e.cfg.Width, e.cfg.Height
	img := &e.cur
	img.Rect = image.Rect(0, 0, w, h)
	img.SubsampleRatio = image.YCbCrSubsampleRatio420
	switch f.Format.Pixel {
	case media.PixelFormatI420:
		img.Y, img.Cb, img.Cr = f.Planes[0], f.Planes[1], f.Planes[2]
		img.YStride, img.CStride = f.Strides[0], f.Strides[1]
	case media.PixelFormatNV12:
		if e.i420 == nil {
			e.i420 = make([]byte, w*h/2)
		}
		cw, ch := w/2, h/2
		u, v := e.i420[:cw*ch], e.i420[cw*ch:]
		uv, stride := f.Planes[1], f.Strides[1]
		for row := 0; row < ch; row++ {
			line := uv[row*stride:]
			for c := 0; c < cw; c++ {
				u[row*cw+c] = line[2*c]
				v[row*cw+c] = line[2*c+1]
			}
		}
		img.Y, img.Cb, img.Cr = f.Planes[0], u, v
		img.YStride, img.CStride = f.Strides[0], cw
	default:
		return media.Errorf(media.CodeEncoderFailed, "pixel format %s: the software encoder takes I420 or NV12", f.Format.Pixel)
	}
	return nil
}

// Close implements VideoEncoder; openh264 buffers nothing.
func (e *SoftwareH264) Close() ([]*media.AccessUnit, error) {
	if err := e.enc.Close(); err != nil {
		return nil, fmt.Errorf("openh264 close: %w", err)
	}
	return nil, nil
}

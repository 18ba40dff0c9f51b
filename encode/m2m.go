package encode

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/v4l2"
)

// The V4L2 stateful memory-to-memory encoder (the kernel's "Memory-to-Memory
// Stateful Video Encoder Interface"), in pure Go so the static binary can use
// the SoC's encoder: raw frames go into the OUTPUT queue, the bitstream comes
// out of the CAPTURE queue. A camera frame that carries dma-bufs in a
// layout the encoder takes is imported as it is (zero-copy: the OUTPUT
// queue is DMABUF and the encoder holds the camera's buffer until the
// driver gives it back); other frames are copied once into MMAP OUTPUT
// buffers. Which one is decided by the first frame (see startOutput).
//
// The coded format is a parameter so that vicodec (a test driver whose
// bitstream is FWHT, not H.264) drives exactly this code in the VM tests.

// Codec controls (v4l2-controls.h, V4L2_CID_CODEC_BASE = 0x990900).
const (
	cidBFrames         = 0x990900 + 202
	cidGOPSize         = 0x990900 + 203
	cidBitrateMode     = 0x990900 + 206
	cidBitrate         = 0x990900 + 207
	cidRepeatSeqHeader = 0x990900 + 226
	cidForceKeyFrame   = 0x990900 + 229
	cidH264IPeriod     = 0x990900 + 358
	cidH264Level       = 0x990900 + 359
	cidH264Profile     = 0x990900 + 363

	h264ProfileConstrainedBaseline = 1
	bitrateModeCBR                 = 1
)

// Coded formats.
const (
	FourCCH264 = 0x34363248 // 'H264'
	FourCCFWHT = 0x54485746 // 'FWHT' (vicodec)
)

const (
	m2mOutputBuffers  = 4
	m2mCaptureBuffers = 4
	m2mWait           = 5 * time.Second // a frame in, a buffer back: generous for slow SoCs
)

// M2MEncoder drives a V4L2 M2M encoder. Encode and Close belong to one
// goroutine; ForceKeyframe and SetBitrate may be called from any.
type M2MEncoder struct {
	dev      *v4l2.Dev
	out, cap *v4l2.Queue
	outFmt   v4l2.QueueFormat
	rawPix   media.PixelFormat
	coded    uint32
	params   media.VideoParams
	cfg      VideoConfig

	outType  uint32
	free     []int // OUTPUT buffers we may fill
	captured map[int64]time.Time
	h264     h264State

	// Zero-copy input (a DMABUF OUTPUT queue): what each slot holds and
	// last held, and the planes handed to the driver (reused).
	dmabuf   bool
	inputWhy atomic.Pointer[string] // how frames get in, and why, for the status
	held     []func()               // per slot: gives the camera's buffer back
	slotFD   []int                  // per slot: the first plane's fd it last carried
	planes   []v4l2.DMAPlane
	imported atomic.Uint64
	copied   atomic.Uint64

	forceKey    atomic.Bool
	ctrlMu      sync.Mutex // serialises control changes from other goroutines
	keyViaGOP   bool       // no FORCE_KEY_FRAME: a one-frame GOP instead
	gopRestore  bool       // the GOP is 1 until the forced keyframe comes out
	unsupported []string
	closed      bool
}

// ProbeM2MEncoders lists the memory-to-memory devices whose CAPTURE side
// offers H.264 (the hardware encoders NewM2M can drive), with their
// formats.
func ProbeM2MEncoders() ([]v4l2.Device, []error) { return m2mDevices("H264") }

func m2mDevices(coded string) ([]v4l2.Device, []error) {
	devs, errs := v4l2.List("/dev")
	var out []v4l2.Device
	for _, d := range devs {
		if d.IsM2M() && d.Has(coded) {
			out = append(out, d)
		}
	}
	return out, errs
}

// NewM2M opens dev (/dev/videoN) as an H.264 encoder for cfg.
func NewM2M(dev string, cfg VideoConfig) (*M2MEncoder, error) {
	return NewM2MCodec(dev, cfg, FourCCH264, media.PixelFormatNV12)
}

// NewM2MCodec is NewM2M for another coded format (FourCCFWHT drives
// vicodec in tests) and raw input layout. Frames of the other 4:2:0 layout
// are converted during the copy.
func NewM2MCodec(dev string, cfg VideoConfig, coded uint32, raw media.PixelFormat) (*M2MEncoder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d, err := v4l2.Open(dev)
	if err != nil {
		return nil, media.Wrap(media.CodeEncoderFailed, err)
	}
	e := &M2MEncoder{dev: d, coded: coded, cfg: cfg, captured: map[int64]time.Time{}}
	if err := e.setup(raw); err != nil {
		e.release()
		return nil, err
	}
	return e, nil
}

func (e *M2MEncoder) setup(raw media.PixelFormat) error {
	d := e.dev
	if d.Caps&(v4l2.CapVideoM2M|v4l2.CapVideoM2MMplane) == 0 {
		return media.Errorf(media.CodeEncoderFailed, "%s (%s) is not a memory-to-memory device", d.Path, d.Card)
	}
	capType, outType := uint32(v4l2.BufTypeVideoCapture), uint32(v4l2.BufTypeVideoOutput)
	if d.Caps&v4l2.CapVideoM2MMplane != 0 {
		capType, outType = v4l2.BufTypeVideoCaptureMplane, v4l2.BufTypeVideoOutputMplane
	}
	w, h := e.cfg.Width, e.cfg.Height
	fail := func(err error) error { return media.Wrap(media.CodeEncoderFailed, err) }

	// The spec's order: the coded format on CAPTURE first, then the raw
	// format on OUTPUT (which sets the size).
	cf, err := d.SetFormat(capType, e.coded, w, h, max(w*h*3/2, 64<<10))
	if err != nil {
		return fail(err)
	}
	if cf.FourCC != e.coded {
		return media.Errorf(media.CodeEncoderFailed, "%s does not encode %s (gives %s)", d.Path, v4l2.FourCCString(e.coded), v4l2.FourCCString(cf.FourCC))
	}
	rawCode, err := pickRaw(d.Formats(outType), raw)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	of, err := d.SetFormat(outType, rawCode, w, h, 0)
	if err != nil {
		return fail(err)
	}
	if of.FourCC != rawCode || of.Width < w || of.Height < h {
		return media.Errorf(media.CodeEncoderFailed, "%s takes %s %dx%d, not the %s %dx%d asked", d.Path,
			v4l2.FourCCString(of.FourCC), of.Width, of.Height, v4l2.FourCCString(rawCode), w, h)
	}
	e.outFmt, e.rawPix = of, v4l2.PixelOf(rawCode)
	if of.Width != w || of.Height != h {
		// The driver aligned the coded size (1080 -> 1088); the visible
		// size is the crop rectangle.
		cw, ch, err := d.SetCrop(outType, w, h)
		if err != nil {
			return fail(err)
		}
		if cw != w || ch != h {
			return media.Errorf(media.CodeEncoderFailed, "%s crops to %dx%d, not the %dx%d asked", d.Path, cw, ch, w, h)
		}
	}
	e.outType = outType
	d.SetFrameRate(outType, e.cfg.FPS) // advisory for rate control

	gop := e.cfg.GOP
	if gop <= 0 {
		gop = e.cfg.FPS
	}
	e.params = media.VideoParams{Codec: media.CodecUnknown, Width: w, Height: h, FPS: e.cfg.FPS, Bitrate: e.cfg.Bitrate, GOP: gop}
	if e.coded == FourCCH264 {
		e.params.Codec = media.CodecH264
		e.setCtrl("profile", cidH264Profile, h264ProfileConstrainedBaseline)
		e.setCtrl("level", cidH264Level, int32(h264Level(w, h, e.cfg.FPS)))
		e.setCtrl("I-period", cidH264IPeriod, int32(gop))
		e.setCtrl("repeat sequence header", cidRepeatSeqHeader, 1)
	}
	e.setCtrl("GOP size", cidGOPSize, int32(gop))
	e.setCtrl("B-frames", cidBFrames, 0)
	e.setCtrl("bitrate mode", cidBitrateMode, bitrateModeCBR)
	e.setCtrl("bitrate", cidBitrate, int32(e.cfg.Bitrate))
	if _, err := d.GetControl(cidForceKeyFrame); err != nil && !errors.Is(err, unix.EACCES) {
		// A button control cannot be read (EACCES) when it exists.
		e.keyViaGOP = true
		e.unsupported = append(e.unsupported, "forced keyframe (emulated with a one-frame GOP)")
	}

	// The OUTPUT queue waits for the first frame, which says whether it
	// can be imported (the spec lets the queues start in either order).
	if e.cap, err = d.RequestBuffers(capType, m2mCaptureBuffers); err != nil {
		return fail(err)
	}
	for i := range e.cap.Buffers {
		if err := e.cap.Queue(i, nil, 0); err != nil {
			return fail(err)
		}
	}
	if err := e.cap.StreamOn(); err != nil {
		return fail(err)
	}
	return nil
}

// startOutput sets the OUTPUT queue up for frames like f: DMABUF when f
// carries dma-bufs in a layout the driver takes (switching the raw format
// to the camera's own when the driver offers it), else MMAP buffers that
// frames are copied into.
func (e *M2MEncoder) startOutput(f *media.VideoFrame) error {
	fail := func(err error) error { return media.Wrap(media.CodeEncoderFailed, err) }
	why := "copy: the frames carry no dma-buf"
	if b := f.DMABuf; b != nil {
		if b.FourCC != e.outFmt.FourCC && e.offers(b.FourCC) {
			if of, err := e.dev.SetFormat(e.outType, b.FourCC, e.params.Width, e.params.Height, 0); err == nil && of.FourCC == b.FourCC {
				e.outFmt, e.rawPix = of, v4l2.PixelOf(b.FourCC)
			}
		}
		if reason := importable(b, e.outFmt); reason != "" {
			why = "copy: " + reason
		} else if q, err := e.dev.RequestDMABUF(e.outType, m2mOutputBuffers); err != nil {
			why = fmt.Sprintf("copy: the encoder does not import dma-bufs (%v)", err)
		} else {
			e.out, e.dmabuf, why = q, true, "dma-buf import (zero-copy)"
		}
	}
	if !e.dmabuf {
		q, err := e.dev.RequestBuffers(e.outType, m2mOutputBuffers)
		if err != nil {
			return fail(err)
		}
		e.out = q
	}
	e.inputWhy.Store(&why)
	e.held, e.slotFD = make([]func(), e.out.Slots), make([]int, e.out.Slots)
	for i := range e.slotFD {
		e.slotFD[i] = -1
		e.free = append(e.free, i)
	}
	if err := e.out.StreamOn(); err != nil {
		return fail(err)
	}
	return nil
}

func (e *M2MEncoder) offers(fourcc uint32) bool {
	for _, f := range e.dev.Formats(e.outType) {
		if f.FourCC == fourcc {
			return true
		}
	}
	return false
}

// importable says why buffer b cannot be the encoder's input as it is
// ("" when it can): the driver reads a buffer in its own format's layout,
// so fourcc, size, memory planes and line lengths must all be the same
// (a 1080-line camera buffer is not an encoder's 1088-line one: its
// chroma would start in the wrong place).
func importable(b *media.DMABuf, of v4l2.QueueFormat) string {
	switch {
	case b.FourCC != of.FourCC:
		return fmt.Sprintf("the camera gives %s, the encoder takes %s", v4l2.FourCCString(b.FourCC), v4l2.FourCCString(of.FourCC))
	case b.Width != of.Width || b.Height != of.Height:
		return fmt.Sprintf("camera buffers are %dx%d, the encoder's %dx%d", b.Width, b.Height, of.Width, of.Height)
	case len(b.FDs) != len(of.BytesPerLine) || len(b.BytesPerLine) != len(of.BytesPerLine):
		return fmt.Sprintf("%d memory planes, the encoder wants %d", len(b.FDs), len(of.BytesPerLine))
	}
	for p := range of.BytesPerLine {
		if b.BytesPerLine[p] != of.BytesPerLine[p] {
			return fmt.Sprintf("lines of %d bytes, the encoder's of %d", b.BytesPerLine[p], of.BytesPerLine[p])
		}
		if p < len(of.SizeImage) && b.Lengths[p] < of.SizeImage[p] {
			return fmt.Sprintf("plane %d of %d bytes, the encoder needs %d", p, b.Lengths[p], of.SizeImage[p])
		}
	}
	return ""
}

// Input says how frames reach the encoder (dma-buf import or a copy, and
// why), and how many took each way. Empty before the first frame. Safe
// from any goroutine.
func (e *M2MEncoder) Input() (how string, imported, copied uint64) {
	if p := e.inputWhy.Load(); p != nil {
		how = *p
	}
	return how, e.imported.Load(), e.copied.Load()
}

// setCtrl sets a configuration control, noting (not hiding) the ones the
// driver lacks.
func (e *M2MEncoder) setCtrl(name string, id uint32, v int32) {
	if err := e.dev.SetControl(id, v); err != nil {
		e.unsupported = append(e.unsupported, fmt.Sprintf("%s (%v)", name, err))
	}
}

// Unsupported lists the settings the driver did not accept, each with the
// reason; the encoder runs without them.
func (e *M2MEncoder) Unsupported() []string { return append([]string(nil), e.unsupported...) }

// Device is the encoder's node and card name.
func (e *M2MEncoder) Device() string { return e.dev.Path + " (" + e.dev.Card + ")" }

// Params implements VideoEncoder. SPS and PPS appear once the first IDR is
// out.
func (e *M2MEncoder) Params() media.VideoParams {
	p := e.params
	p.SPS, p.PPS = e.h264.sps, e.h264.pps
	return p
}

// SetBitrate implements VideoEncoder through V4L2_CID_MPEG_VIDEO_BITRATE.
func (e *M2MEncoder) SetBitrate(bps int) error {
	if bps <= 0 {
		return media.Errorf(media.CodeInvalidConfig, "bitrate %d: must be positive", bps)
	}
	e.ctrlMu.Lock()
	defer e.ctrlMu.Unlock()
	if err := e.dev.SetControl(cidBitrate, int32(bps)); err != nil {
		return media.Errorf(media.CodeUnsupported, "%s cannot change the bitrate while running: %w", e.dev.Path, err)
	}
	e.params.Bitrate = bps
	return nil
}

// Reconfigure is the resolution ladder's rung change. A new picture size
// would need the encoder drained and its queues rebuilt (STREAMOFF, S_FMT,
// REQBUFS, STREAMON on both sides), which no driver we can test in a VM
// exercises for H.264, so it is refused with CodeUnsupported and the caller
// keeps the size; a new frame rate (same size) is applied: the driver's
// frame interval (advisory for its rate control, as at setup), and a
// keyframe so the switch is a join point like on the software encoder.
// Like Encode it belongs to the encoding goroutine.
func (e *M2MEncoder) Reconfigure(width, height, fps int) error {
	if e.closed {
		return media.Errorf(media.CodeEncoderFailed, "encoder closed")
	}
	if width != e.params.Width || height != e.params.Height {
		return media.Errorf(media.CodeUnsupported, "%s: the hardware encoder cannot change its picture size while running (%dx%d to %dx%d)",
			e.dev.Path, e.params.Width, e.params.Height, width, height)
	}
	if fps < 1 || fps > 120 {
		return media.Errorf(media.CodeInvalidConfig, "frame rate %d: must be 1 to 120", fps)
	}
	if fps == e.params.FPS {
		return nil
	}
	e.ctrlMu.Lock()
	e.dev.SetFrameRate(e.outType, fps) // advisory, as at setup: a driver that refuses it still encodes every frame it gets
	e.params.FPS = fps
	e.ctrlMu.Unlock()
	e.ForceKeyframe()
	return nil
}

// ForceKeyframe implements VideoEncoder: the next frame queued is coded as
// a keyframe (V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, or a one-frame GOP on
// drivers without it; see Unsupported).
func (e *M2MEncoder) ForceKeyframe() { e.forceKey.Store(true) }

// Encode implements VideoEncoder: copy f into a free OUTPUT buffer, queue
// it, and return the coded frames that are ready.
func (e *M2MEncoder) Encode(f *media.VideoFrame) ([]*media.AccessUnit, error) {
	if e.closed {
		return nil, media.Errorf(media.CodeEncoderFailed, "encoder closed")
	}
	if f.Format.Width != e.params.Width || f.Format.Height != e.params.Height {
		return nil, media.Errorf(media.CodeEncoderFailed, "frame %dx%d, encoder %dx%d", f.Format.Width, f.Format.Height, e.params.Width, e.params.Height)
	}
	if e.out == nil {
		if err := e.startOutput(f); err != nil {
			return nil, err
		}
	}
	var units []*media.AccessUnit
	deadline := time.Now().Add(m2mWait)
	for len(e.free) == 0 {
		// Every OUTPUT buffer is with the driver: take back what it
		// consumed, collecting coded frames meanwhile.
		got, err := e.collect(&units)
		if err != nil {
			return units, err
		}
		if got {
			continue
		}
		if time.Now().After(deadline) {
			return units, media.Errorf(media.CodeEncoderFailed, "%s: no buffer back in %v", e.dev.Path, m2mWait)
		}
		if _, err := e.dev.Poll(unix.POLLIN|unix.POLLOUT, 100*time.Millisecond); err != nil {
			return units, media.Wrap(media.CodeEncoderFailed, err)
		}
	}
	if e.dmabuf {
		if f.DMABuf == nil {
			return units, media.Errorf(media.CodeEncoderFailed, "%s: a frame without a dma-buf after the encoder began importing the camera's", e.dev.Path)
		}
		if why := importable(f.DMABuf, e.outFmt); why != "" {
			return units, media.Errorf(media.CodeEncoderFailed, "%s: cannot import the frame: %s", e.dev.Path, why)
		}
	}
	i := e.takeSlot(f)
	ts := f.PTS.Truncate(time.Microsecond)
	if e.forceKey.Swap(false) {
		e.applyForceKey()
	}
	var err error
	if e.dmabuf {
		b := f.DMABuf
		e.planes = e.planes[:0]
		for p, fd := range b.FDs {
			e.planes = append(e.planes, v4l2.DMAPlane{FD: fd, Length: b.Lengths[p], BytesUsed: b.BytesUsed[p], Offset: b.Offsets[p]})
		}
		// The driver reads the camera's buffer after Encode returns:
		// the encoder, not the caller, gives it back (collect).
		e.held[i], e.slotFD[i] = f.Keep(), b.FDs[0]
		if err = e.out.QueueDMABUF(i, e.planes, ts); err == nil {
			e.imported.Add(1)
		} else {
			e.held[i]()
			e.held[i] = nil
		}
	} else {
		var used []int
		if used, err = copyFrame(e.out.Buffers[i], e.outFmt, e.rawPix, f); err == nil {
			err = e.out.Queue(i, used, ts)
		}
		if err == nil {
			e.copied.Add(1)
		}
	}
	if err != nil {
		e.free = append(e.free, i)
		return units, media.Wrap(media.CodeEncoderFailed, err)
	}
	e.captured[int64(ts/time.Microsecond)] = f.Captured
	if _, err := e.collect(&units); err != nil {
		return units, err
	}
	return units, nil
}

// takeSlot takes a free OUTPUT slot for f: for an imported frame the one
// that last carried the same buffer, so the driver can keep its mapping
// of it (vb2 re-attaches a dma-buf when a slot's fd changes).
func (e *M2MEncoder) takeSlot(f *media.VideoFrame) int {
	k := len(e.free) - 1
	if e.dmabuf {
		for j, i := range e.free {
			if e.slotFD[i] == f.DMABuf.FDs[0] {
				k = j
				break
			}
		}
	}
	i := e.free[k]
	e.free = append(e.free[:k], e.free[k+1:]...)
	return i
}

// giveBack frees OUTPUT slot i, and the camera buffer it held.
func (e *M2MEncoder) giveBack(i int) {
	if i >= 0 && i < len(e.held) && e.held[i] != nil {
		e.held[i]()
		e.held[i] = nil
	}
	e.free = append(e.free, i)
}

func (e *M2MEncoder) applyForceKey() {
	e.ctrlMu.Lock()
	defer e.ctrlMu.Unlock()
	if !e.keyViaGOP {
		if err := e.dev.SetControl(cidForceKeyFrame, 1); err == nil {
			return
		}
		e.keyViaGOP = true
	}
	// The driver codes an intra frame when its GOP counter wraps; with a
	// GOP of 1 it wraps on every frame. The configured GOP comes back once
	// the keyframe is out.
	if e.dev.SetControl(cidGOPSize, 1) == nil {
		e.gopRestore = true
	}
}

// collect dequeues whatever is ready without waiting: consumed OUTPUT
// buffers become free, coded CAPTURE buffers become access units (and go
// back to the driver). It reports whether it got anything.
func (e *M2MEncoder) collect(units *[]*media.AccessUnit) (bool, error) {
	got := false
	for {
		d, err := e.out.Dequeue()
		if errors.Is(err, v4l2.ErrAgain) {
			break
		}
		if err != nil {
			return got, media.Wrap(media.CodeEncoderFailed, err)
		}
		e.giveBack(d.Index)
		got = true
	}
	for {
		au, last, err := e.dequeueCoded()
		if errors.Is(err, v4l2.ErrAgain) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = true
		if au != nil {
			*units = append(*units, au)
		}
		if last {
			return got, nil
		}
	}
}

// dequeueCoded takes one coded buffer, turns it into an access unit (nil
// for an empty one, such as a bare LAST), and queues the buffer again.
func (e *M2MEncoder) dequeueCoded() (*media.AccessUnit, bool, error) {
	d, err := e.cap.Dequeue()
	if err != nil {
		if errors.Is(err, v4l2.ErrAgain) {
			return nil, false, err
		}
		if errors.Is(err, unix.EPIPE) { // after LAST: nothing more will come
			return nil, true, nil
		}
		return nil, false, media.Wrap(media.CodeEncoderFailed, err)
	}
	last := d.Flags&v4l2.BufFlagLast != 0
	var au *media.AccessUnit
	if d.BytesUsed[0] > 0 && d.Flags&v4l2.BufFlagError == 0 {
		data := e.cap.Buffers[d.Index][0][d.Offset[0] : d.Offset[0]+d.BytesUsed[0]]
		au = e.unit(data, d)
	}
	if !last && !e.closed {
		if err := e.cap.Queue(d.Index, nil, 0); err != nil {
			return au, last, media.Wrap(media.CodeEncoderFailed, err)
		}
	}
	return au, last, nil
}

// unit copies a coded buffer out of the driver's memory into an access
// unit stamped with its source frame's times.
func (e *M2MEncoder) unit(data []byte, d v4l2.Dequeued) *media.AccessUnit {
	key := d.Flags&v4l2.BufFlagKeyframe != 0
	au := &media.AccessUnit{Codec: e.params.Codec, PTS: d.Timestamp, DTS: d.Timestamp}
	us := int64(d.Timestamp / time.Microsecond)
	au.Captured = e.captured[us]
	delete(e.captured, us)
	if e.coded == FourCCH264 {
		au.NALUs, key = e.h264.unit(data)
	} else {
		au.NALUs = [][]byte{append([]byte(nil), data...)}
		if e.coded == FourCCFWHT {
			key = fwhtIntra(data)
		}
	}
	au.Key = key
	if key && e.gopRestore {
		e.ctrlMu.Lock()
		gop := e.params.GOP
		e.dev.SetControl(cidGOPSize, int32(gop))
		e.gopRestore = false
		e.ctrlMu.Unlock()
	}
	return au
}

// fwhtIntra reads the intra flag of a vicodec FWHT frame header: magic
// 0x4f4f4f4f 0xffffffff, then big-endian version, width, height, flags.
func fwhtIntra(b []byte) bool {
	if len(b) < 24 || string(b[:8]) != "OOOO\xff\xff\xff\xff" {
		return false
	}
	flags := uint32(b[20])<<24 | uint32(b[21])<<16 | uint32(b[22])<<8 | uint32(b[23])
	return flags&0x400 != 0 // FWHT_FL_I_FRAME
}

// Close implements VideoEncoder: drain with V4L2_ENC_CMD_STOP, collect
// the coded frames up to the one flagged LAST, then free everything.
func (e *M2MEncoder) Close() ([]*media.AccessUnit, error) {
	if e.closed {
		return nil, nil
	}
	var units []*media.AccessUnit
	err := e.drain(&units)
	e.closed = true
	e.release()
	return units, err
}

func (e *M2MEncoder) drain(units *[]*media.AccessUnit) error {
	if e.cap == nil || e.out == nil {
		return nil // no frame went in: nothing to drain
	}
	if err := e.dev.EncoderCommand(v4l2.EncCmdStop); err != nil {
		return media.Errorf(media.CodeEncoderFailed, "%s: V4L2_ENC_CMD_STOP: %w", e.dev.Path, err)
	}
	deadline := time.Now().Add(m2mWait)
	for time.Now().Before(deadline) {
		for {
			d, err := e.out.Dequeue()
			if err != nil {
				break
			}
			e.giveBack(d.Index)
		}
		au, last, err := e.dequeueCoded()
		if errors.Is(err, v4l2.ErrAgain) {
			e.dev.Poll(unix.POLLIN, 100*time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		if au != nil {
			*units = append(*units, au)
		}
		if last {
			return nil
		}
	}
	return media.Errorf(media.CodeEncoderFailed, "%s: no LAST buffer within %v of the stop command", e.dev.Path, m2mWait)
}

func (e *M2MEncoder) release() {
	if e.out != nil {
		e.out.Free() // streaming off: the driver lets go of every slot
		for i, fn := range e.held {
			if fn != nil {
				fn()
				e.held[i] = nil
			}
		}
	}
	if e.cap != nil {
		e.cap.Free()
	}
	e.dev.Close()
}

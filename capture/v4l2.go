package capture

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/v4l2"
)

// Camera is a V4L2 camera with MMAP streaming, single- or multi-planar.
//
// NV12/I420 frames are handed out zero-copy: their planes point into the
// driver's buffer, and Release queues that buffer again. YUYV frames are
// converted to I420 into one of a few buffers of ours and the driver's
// buffer goes straight back.
//
// The streaming path is media/v4l2's rather than blackjack/webcam's: webcam
// opens single-planar devices only and hides the buffer's timestamp and
// sequence number, which the pipeline clock and drop detection need (see
// media/v4l2/stream.go).
type Camera struct {
	path   string
	dev    *v4l2.Dev
	q      *v4l2.Queue
	typ    uint32
	fourcc uint32
	qfmt   v4l2.QueueFormat
	format media.VideoFormat
	clock  *media.Clock
	offset time.Duration // pipeline clock - CLOCK_MONOTONIC
	rate   float64

	frames  []media.VideoFrame // one per driver buffer (zero-copy)
	dmabufs []media.DMABuf     // the buffers exported, one per frame
	expErr  error              // why they are not (nil when they are)
	release []func()           // prebuilt, so Read allocates nothing
	conv    chan *patternBuf   // YUYV: converted frames free for reuse
	scratch [][]byte
	strides []int

	readMu      sync.Mutex // held by Read; Close waits for it
	mu          sync.Mutex // guards outstanding, closed, the queue's life
	outstanding int
	closed      bool
	stop        atomic.Bool

	started  bool
	nextSeq  uint32
	captured atomic.Uint64
	lost     atomic.Uint64 // frames the driver skipped (sequence gaps)
	skipped  atomic.Uint64 // frames we dropped: every buffer of ours was out
}

// CameraStats counts what a camera delivered and lost.
type CameraStats struct {
	Frames  uint64 // frames handed out
	Lost    uint64 // gaps in the driver's sequence numbers
	Skipped uint64 // dropped here because the consumer held every buffer
}

// cameraBuffers is how many MMAP buffers are asked for: enough for the
// consumer to hold a couple of zero-copy frames while the driver keeps
// filling the rest.
const cameraBuffers = 6

// OpenCamera opens path (/dev/videoN) at exactly w x h, asks for fps, and
// starts streaming. It prefers NV12 or I420 (handed out zero-copy) over
// YUYV (converted) and speaks whichever of the single- and multi-planar
// APIs the device has.
func OpenCamera(path string, w, h, fps int, clock *media.Clock) (*Camera, error) {
	return OpenCameraWith(path, CameraConfig{Width: w, Height: h, FPS: fps}, clock)
}

// CameraConfig asks a camera for a size, a rate and, optionally, a V4L2
// pixel format (for tests and for cameras whose preferred format misbehaves).
type CameraConfig struct {
	Width, Height, FPS int
	// PixelFormat is a fourcc such as "YUYV"; empty picks automatically.
	PixelFormat string
}

// OpenCameraWith is OpenCamera with every option.
func OpenCameraWith(path string, cfg CameraConfig, clock *media.Clock) (*Camera, error) {
	if err := validateVideo(cfg.Width, cfg.Height, cfg.FPS); err != nil {
		return nil, err
	}
	var force uint32
	if cfg.PixelFormat != "" {
		for _, code := range camPreference {
			if v4l2.FourCCString(code) == cfg.PixelFormat {
				force = code
			}
		}
		if force == 0 {
			return nil, media.Errorf(media.CodeInvalidConfig, "pixel format %q: want one of NV12 YU12 NM12 YM12 YUYV", cfg.PixelFormat)
		}
	}
	dev, err := v4l2.Open(path)
	if err != nil {
		return nil, cameraErr(err)
	}
	c := &Camera{path: path, dev: dev, clock: clock}
	if err := c.setup(cfg.Width, cfg.Height, cfg.FPS, force); err != nil {
		if c.q != nil {
			c.q.Free()
		}
		for _, b := range c.dmabufs {
			closeAll(b.FDs)
		}
		dev.Close()
		return nil, err
	}
	return c, nil
}

func (c *Camera) setup(w, h, fps int, force uint32) error {
	switch {
	case c.dev.Caps&v4l2.CapVideoCaptureMplane != 0:
		c.typ = v4l2.BufTypeVideoCaptureMplane
	case c.dev.Caps&v4l2.CapVideoCapture != 0:
		c.typ = v4l2.BufTypeVideoCapture
	default:
		return media.Errorf(media.CodeCameraFailed, "%s (%s) is not a capture device", c.path, c.dev.Card)
	}
	if c.dev.Caps&v4l2.CapStreaming == 0 {
		return media.Errorf(media.CodeCameraFailed, "%s cannot stream (no V4L2_CAP_STREAMING)", c.path)
	}
	offers := c.dev.Formats(c.typ)
	if force != 0 {
		var only []v4l2.FormatDesc
		for _, f := range offers {
			if f.FourCC == force {
				only = append(only, f)
			}
		}
		offers = only
	}
	code, err := negotiate(offers, w, h)
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	f, err := c.dev.SetFormat(c.typ, code, w, h, 0)
	if err != nil {
		return cameraErr(err)
	}
	if f.FourCC != code || f.Width != w || f.Height != h {
		return media.Errorf(media.CodeCameraFailed, "%s gives %s %dx%d, not the %s %dx%d asked",
			c.path, v4l2.FourCCString(f.FourCC), f.Width, f.Height, v4l2.FourCCString(code), w, h)
	}
	c.fourcc, c.qfmt = code, f
	// Not every driver lets the rate be set; the nominal rate stays fps.
	c.rate, _ = c.dev.SetFrameRate(c.typ, fps)
	c.format = media.VideoFormat{Pixel: v4l2.PixelOf(code), Width: w, Height: h, FPS: fps}

	if c.q, err = c.dev.RequestBuffers(c.typ, cameraBuffers); err != nil {
		return cameraErr(err)
	}
	n := len(c.q.Buffers)
	c.frames = make([]media.VideoFrame, n)
	c.release = make([]func(), n)
	for i := range c.frames {
		c.frames[i].Format = c.format
		c.frames[i].Planes, c.frames[i].Strides = make([][]byte, 0, 3), make([]int, 0, 3)
		i := i
		c.release[i] = func() { c.requeue(i) }
	}
	if code != v4l2.FourCCYUYV {
		c.export()
	}
	if code == v4l2.FourCCYUYV {
		c.conv = make(chan *patternBuf, 3)
		for i := 0; i < cap(c.conv); i++ {
			b := &patternBuf{data: make([]byte, w*h*3/2)}
			b.release = func() { c.conv <- b }
			fr := &b.frame
			fr.Format = c.format
			fr.Planes, fr.Strides = [][]byte{b.data[:w*h], b.data[w*h : w*h*5/4], b.data[w*h*5/4:]}, []int{w, w / 2, w / 2}
			c.conv <- b
		}
		c.scratch, c.strides = make([][]byte, 0, 1), make([]int, 0, 1)
	}
	for i := 0; i < n; i++ {
		if err := c.q.Queue(i, nil, 0); err != nil {
			return cameraErr(err)
		}
	}
	c.offset = monoOffset(c.clock)
	if err := c.q.StreamOn(); err != nil {
		return cameraErr(err)
	}
	return nil
}

// export shares every buffer as dma-bufs so a hardware encoder can read
// the frames where the camera wrote them. A driver that cannot export
// (or a kernel without dma-buf) leaves the frames as they are: the
// encoder copies them instead, which is slower, not wrong.
func (c *Camera) export() {
	bufs := make([]media.DMABuf, len(c.q.Buffers))
	for i := range bufs {
		fds, err := c.q.Export(i)
		if err != nil {
			c.expErr = err
			for _, b := range bufs[:i] {
				closeAll(b.FDs)
			}
			return
		}
		n := len(fds)
		lengths := make([]int, n)
		for p := range lengths {
			lengths[p] = len(c.q.Buffers[i][p])
		}
		bufs[i] = media.DMABuf{FourCC: c.fourcc, Width: c.qfmt.Width, Height: c.qfmt.Height,
			BytesPerLine: c.qfmt.BytesPerLine, FDs: fds, Lengths: lengths,
			BytesUsed: make([]int, n), Offsets: make([]int, n)}
	}
	c.dmabufs = bufs
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// DMABufExport says whether frames carry dma-bufs (nil) or why not.
func (c *Camera) DMABufExport() error {
	switch {
	case c.dmabufs != nil:
		return nil
	case c.expErr != nil:
		return c.expErr
	}
	return fmt.Errorf("%s: %s frames are converted, not shared", c.path, v4l2.FourCCString(c.fourcc))
}

// Format implements VideoSource.
func (c *Camera) Format() media.VideoFormat { return c.format }

// FrameRate is the rate the driver settled on (0 if it did not say).
func (c *Camera) FrameRate() float64 { return c.rate }

// PixelFormat is the V4L2 format negotiated, e.g. "NV12" or "YUYV".
func (c *Camera) PixelFormat() string { return v4l2.FourCCString(c.fourcc) }

// Multiplanar reports whether the camera is driven through the
// multi-planar API.
func (c *Camera) Multiplanar() bool { return c.typ == v4l2.BufTypeVideoCaptureMplane }

// SetControl sets a V4L2 control on the camera (exposure, test hooks).
func (c *Camera) SetControl(id uint32, value int32) error {
	if err := c.dev.SetControl(id, value); err != nil {
		return cameraErr(fmt.Errorf("%s: control %#x: %w", c.path, id, err))
	}
	return nil
}

// Stats returns the frame counters.
func (c *Camera) Stats() CameraStats {
	return CameraStats{Frames: c.captured.Load(), Lost: c.lost.Load(), Skipped: c.skipped.Load()}
}

// Read implements VideoSource. The frame's Seq is the driver's sequence
// number (gaps are counted in Stats().Lost), its PTS the kernel's capture
// timestamp on the pipeline clock (see v4l2_clock.go).
func (c *Camera) Read(ctx context.Context) (*media.VideoFrame, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for {
		if c.stop.Load() {
			return nil, fmt.Errorf("camera %s: %w", c.path, ErrClosed)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := c.q.Dequeue()
		if errors.Is(err, v4l2.ErrAgain) {
			// Wake every 100 ms to notice ctx and Close; a frame usually
			// comes first.
			ev, err := c.dev.Poll(unix.POLLIN, 100*time.Millisecond)
			if err != nil {
				return nil, cameraErr(err)
			}
			if ev&unix.POLLERR != 0 {
				// Dequeue says why (ENODEV when unplugged).
				if _, err := c.q.Dequeue(); err != nil && !errors.Is(err, v4l2.ErrAgain) {
					return nil, cameraErr(err)
				}
				return nil, media.Errorf(media.CodeCameraLost, "camera %s: device error", c.path)
			}
			continue
		}
		if err != nil {
			return nil, cameraErr(err)
		}
		now := c.clock.Now()
		c.countSequence(d.Sequence)
		if d.Flags&v4l2.BufFlagError != 0 {
			c.skipped.Add(1)
			c.requeueNow(d.Index)
			continue
		}
		pts := mapTimestamp(d.Timestamp, d.Flags, c.offset, now)
		f, err := c.frame(d)
		if err != nil {
			c.requeueNow(d.Index)
			return nil, media.Errorf(media.CodeCameraFailed, "camera %s: %w", c.path, err)
		}
		if f == nil { // every conversion buffer is out: drop this one
			c.skipped.Add(1)
			continue
		}
		f.PTS, f.Captured, f.Seq = pts, c.clock.Wall(pts), uint64(d.Sequence)
		c.captured.Add(1)
		return f, nil
	}
}

// countSequence counts frames the driver skipped before this one.
func (c *Camera) countSequence(seq uint32) {
	if c.started && seq != c.nextSeq {
		c.lost.Add(uint64(seq - c.nextSeq))
	}
	c.started, c.nextSeq = true, seq+1
}

// frame turns dequeued buffer d into a frame: zero-copy for NV12/I420,
// converted for YUYV (nil when no conversion buffer is free).
func (c *Camera) frame(d v4l2.Dequeued) (*media.VideoFrame, error) {
	mem := c.q.Buffers[d.Index]
	if c.fourcc == v4l2.FourCCYUYV {
		var err error
		c.scratch, c.strides, err = framePlanes(c.fourcc, c.qfmt, mem, d.Offset, d.BytesUsed, c.scratch, c.strides)
		if err != nil {
			return nil, err
		}
		var b *patternBuf
		select {
		case b = <-c.conv:
		default:
			c.requeueNow(d.Index)
			return nil, nil
		}
		f := &b.frame
		yuyvToI420(c.scratch[0], c.strides[0], c.format.Width, c.format.Height, f.Planes[0], f.Planes[1], f.Planes[2])
		c.requeueNow(d.Index)
		f.SetRelease(b.release)
		return f, nil
	}
	f := &c.frames[d.Index]
	var err error
	f.Planes, f.Strides, err = framePlanes(c.fourcc, c.qfmt, mem, d.Offset, d.BytesUsed, f.Planes, f.Strides)
	if err != nil {
		return nil, err
	}
	if c.dmabufs != nil {
		b := &c.dmabufs[d.Index]
		copy(b.BytesUsed, d.BytesUsed)
		copy(b.Offsets, d.Offset)
		f.DMABuf = b
	}
	c.mu.Lock()
	c.outstanding++
	c.mu.Unlock()
	f.SetRelease(c.release[d.Index])
	return f, nil
}

// requeueNow gives a buffer we did not hand out back to the driver.
func (c *Camera) requeueNow(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.q.Queue(i, nil, 0)
	}
}

// requeue is a zero-copy frame's Release: the buffer goes back to the
// driver, or, after Close, the last one out frees the mappings (a consumer
// may still read a frame while the camera closes).
func (c *Camera) requeue(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outstanding--
	if c.closed {
		if c.outstanding == 0 {
			c.teardown()
		}
		return
	}
	// A failure here (device gone) shows up at the next Read.
	c.q.Queue(i, nil, 0)
}

func cameraErr(err error) error {
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EIO) || errors.Is(err, unix.ENXIO) {
		return media.Errorf(media.CodeCameraLost, "camera gone: %w", err)
	}
	return media.Wrap(media.CodeCameraFailed, err)
}

// Close implements VideoSource: streaming off, then buffers unmapped and
// the device closed once no frame is held any more. Safe to call twice and
// from another goroutine than Read's (it waits for Read to return).
func (c *Camera) Close() error {
	if c.stop.Swap(true) {
		return nil
	}
	c.readMu.Lock() // Read notices stop within its 100 ms poll
	defer c.readMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	err := c.q.StreamOff()
	if c.outstanding == 0 {
		c.teardown()
	}
	if errors.Is(err, unix.ENODEV) {
		return nil // unplugged: nothing left to stop
	}
	return err
}

// teardown unmaps and closes; c.mu is held.
func (c *Camera) teardown() {
	c.q.Free()
	for _, b := range c.dmabufs {
		closeAll(b.FDs)
	}
	c.dev.Close()
}

package capture

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
)

// V4L2 pixel formats we can take.
const (
	fourccNV12 = 0x3231564e // 'NV12'
	fourccI420 = 0x32315559 // 'YU12'
	fourccYUYV = 0x56595559 // 'YUYV'
)

// Camera is a single-planar V4L2 camera with MMAP streaming, through
// blackjack/webcam. Each frame is copied (or converted, from YUYV) once into
// a buffer of ours and the driver's buffer goes straight back, so a slow
// consumer never starves the driver.
//
// webcam does not expose the buffer's kernel timestamp or sequence number,
// so PTS is taken when the frame is dequeued and dropped frames are not
// counted here; the multi-planar path, which webcam lacks altogether, is
// still to be written against VIDIOC_DQBUF directly.
type Camera struct {
	cam    *webcam.Webcam
	format media.VideoFormat
	fourcc webcam.PixelFormat
	stride int
	clock  *media.Clock
	free   chan *patternBuf
	seq    uint64
	closed atomic.Bool
}

// OpenCamera opens path at the size and rate asked, preferring NV12 or
// I420 (what the encoders take) over YUYV.
func OpenCamera(path string, w, h, fps int, clock *media.Clock) (*Camera, error) {
	if err := validateVideo(w, h, fps); err != nil {
		return nil, err
	}
	cam, err := webcam.Open(path)
	if err != nil {
		return nil, media.Errorf(media.CodeCameraFailed, "camera %s: %w", path, err)
	}
	c := &Camera{cam: cam, clock: clock, free: make(chan *patternBuf, 4)}
	ok := false
	defer func() {
		if !ok {
			cam.Close()
		}
	}()
	formats := cam.GetSupportedFormats()
	for _, f := range []webcam.PixelFormat{fourccNV12, fourccI420, fourccYUYV} {
		if _, has := formats[f]; has {
			c.fourcc = f
			break
		}
	}
	if c.fourcc == 0 {
		return nil, media.Errorf(media.CodeCameraFailed, "camera %s offers none of NV12, YU12, YUYV", path)
	}
	f, gw, gh, err := cam.SetImageFormat(c.fourcc, uint32(w), uint32(h))
	if err != nil {
		return nil, media.Errorf(media.CodeCameraFailed, "camera %s: set format: %w", path, err)
	}
	if f != c.fourcc || int(gw) != w || int(gh) != h {
		return nil, media.Errorf(media.CodeCameraFailed, "camera %s gives %dx%d, not the %dx%d asked", path, gw, gh, w, h)
	}
	cam.SetFramerate(float32(fps)) // best effort: not every driver lets the rate be set
	if err := cam.SetBufferCount(4); err != nil {
		return nil, media.Errorf(media.CodeCameraFailed, "camera %s: buffers: %w", path, err)
	}
	if err := cam.StartStreaming(); err != nil {
		return nil, media.Errorf(media.CodeCameraFailed, "camera %s: stream on: %w", path, err)
	}
	pix := media.PixelFormatI420
	if c.fourcc == fourccNV12 {
		pix = media.PixelFormatNV12
	}
	c.format = media.VideoFormat{Pixel: pix, Width: w, Height: h, FPS: fps}
	c.stride = w
	if c.fourcc == fourccYUYV {
		c.stride = w * 2
	}
	for i := 0; i < cap(c.free); i++ {
		b := &patternBuf{data: make([]byte, w*h*3/2)}
		b.release = func() { c.free <- b }
		fr := &b.frame
		fr.Format = c.format
		if pix == media.PixelFormatNV12 {
			fr.Planes, fr.Strides = [][]byte{b.data[:w*h], b.data[w*h:]}, []int{w, w}
		} else {
			fr.Planes, fr.Strides = [][]byte{b.data[:w*h], b.data[w*h : w*h*5/4], b.data[w*h*5/4:]}, []int{w, w / 2, w / 2}
		}
		c.free <- b
	}
	ok = true
	return c, nil
}

// Format implements VideoSource.
func (c *Camera) Format() media.VideoFormat { return c.format }

// Read implements VideoSource.
func (c *Camera) Read(ctx context.Context) (*media.VideoFrame, error) {
	for {
		if c.closed.Load() {
			return nil, fmt.Errorf("camera: %w", ErrClosed)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Wake every second to notice ctx; a frame usually comes first.
		err := c.cam.WaitForFrame(1)
		var to *webcam.Timeout
		if errors.As(err, &to) {
			continue
		}
		if err != nil {
			return nil, c.lost(err)
		}
		raw, index, err := c.cam.GetFrame()
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				continue
			}
			return nil, c.lost(err)
		}
		pts := c.clock.Now()
		var b *patternBuf
		select {
		case b = <-c.free:
		default:
			c.cam.ReleaseFrame(index) // every buffer of ours is out: drop it
			c.seq++
			continue
		}
		f := &b.frame
		switch c.fourcc {
		case fourccYUYV:
			yuyvToI420(raw, c.stride, c.format.Width, c.format.Height, f.Planes[0], f.Planes[1], f.Planes[2])
		default:
			copy(b.data, raw)
		}
		c.cam.ReleaseFrame(index)
		f.PTS, f.Captured, f.Seq = pts, c.clock.Wall(pts), c.seq
		c.seq++
		f.SetRelease(b.release)
		return f, nil
	}
}

// lost maps a dead device (unplugged: ENODEV) to camera_lost.
func (c *Camera) lost(err error) error {
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EIO) {
		return media.Errorf(media.CodeCameraLost, "camera gone: %w", err)
	}
	return media.Errorf(media.CodeCameraFailed, "camera: %w", err)
}

// Close implements VideoSource: streaming off, buffers unmapped, device
// closed.
func (c *Camera) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.cam.StopStreaming()
	return c.cam.Close()
}

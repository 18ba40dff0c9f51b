package v4l2

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
)

// MMAP streaming, shared by cameras (capture) and memory-to-memory encoders
// (encode), single- and multi-planar alike. Written here rather than taken
// from blackjack/webcam because webcam speaks the single-planar API only,
// hides the buffer's timestamp, sequence number and flags (which drop
// detection, the pipeline clock and the encoder's LAST/KEYFRAME handling
// need), and has no OUTPUT queue for an encoder.

// Request numbers for the streaming ioctls; sizes follow GOARCH.
var (
	vidiocGFmt              = iowr('V', 4, unsafe.Sizeof(rawFormat{}))
	vidiocSFmt              = iowr('V', 5, unsafe.Sizeof(rawFormat{}))
	vidiocReqbufs           = iowr('V', 8, unsafe.Sizeof(requestBuffers{}))
	vidiocQuerybuf          = iowr('V', 9, unsafe.Sizeof(rawBuffer{}))
	vidiocQbuf              = iowr('V', 15, unsafe.Sizeof(rawBuffer{}))
	vidiocDqbuf             = iowr('V', 17, unsafe.Sizeof(rawBuffer{}))
	vidiocStreamon          = ioc(1, 'V', 18, 4)
	vidiocStreamoff         = ioc(1, 'V', 19, 4)
	vidiocGParm             = iowr('V', 21, unsafe.Sizeof(streamParm{}))
	vidiocSParm             = iowr('V', 22, unsafe.Sizeof(streamParm{}))
	vidiocGCtrl             = iowr('V', 27, unsafe.Sizeof(control{}))
	vidiocSCtrl             = iowr('V', 28, unsafe.Sizeof(control{}))
	vidiocEnumFrameInterval = iowr('V', 75, unsafe.Sizeof(frmivalenum{}))
	vidiocEncoderCmd        = iowr('V', 77, unsafe.Sizeof(encoderCmd{}))
	vidiocExpbuf            = iowr('V', 16, unsafe.Sizeof(exportBuffer{}))
	vidiocSSelection        = iowr('V', 95, unsafe.Sizeof(selection{}))
)

// Buffer flags (videodev2.h).
const (
	BufFlagKeyframe           = 0x00000008
	BufFlagError              = 0x00000040
	BufFlagTimestampMask      = 0x0000e000
	BufFlagTimestampMonotonic = 0x00002000
	BufFlagLast               = 0x00100000
)

// Memory types of a queue's buffers.
const (
	memoryMMAP   = 1
	memoryDMABUF = 4
)

// Encoder commands.
const (
	EncCmdStart = 0
	EncCmdStop  = 1
)

// ErrAgain is returned by Dequeue when no buffer is ready yet.
var ErrAgain = errors.New("no buffer ready")

// Dev is an open V4L2 node for streaming.
type Dev struct {
	Path   string
	Caps   uint32
	Driver string
	Card   string
	fd     int
}

// Open opens path non-blocking (Dequeue polls) and asks what it is.
func Open(path string) (*Dev, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var c capability
	if err := ioctl(fd, vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: VIDIOC_QUERYCAP: %w", path, err)
	}
	d := &Dev{Path: path, fd: fd, Caps: c.Capabilities, Driver: cstr(c.Driver[:]), Card: cstr(c.Card[:])}
	if c.Capabilities&CapDeviceCaps != 0 {
		d.Caps = c.DeviceCaps
	}
	return d, nil
}

// Close closes the node. Queues must be freed first.
func (d *Dev) Close() error { return unix.Close(d.fd) }

// Multiplanar reports whether the device speaks the multi-planar API.
func (d *Dev) Multiplanar() bool {
	return d.Caps&(CapVideoCaptureMplane|CapVideoOutputMplane|CapVideoM2MMplane) != 0
}

// Formats lists the pixel formats of a queue (buffer type typ) with their
// frame sizes.
func (d *Dev) Formats(typ uint32) []FormatDesc {
	var out []FormatDesc
	for i := uint32(0); i < 256; i++ {
		f := fmtdesc{Index: i, Type: typ}
		if ioctl(d.fd, vidiocEnumFmt, unsafe.Pointer(&f)) != nil {
			break
		}
		out = append(out, FormatDesc{FourCC: f.PixelFormat, Description: cstr(f.Description[:]), Sizes: frameSizes(d.fd, f.PixelFormat)})
	}
	return out
}

// FrameRates lists the frame rates a camera offers for a format and size,
// in frames per second; a stepwise range comes back as its two ends.
func (d *Dev) FrameRates(fourcc uint32, w, h int) []float64 {
	var out []float64
	for i := uint32(0); i < 64; i++ {
		e := frmivalenum{Index: i, PixelFormat: fourcc, Width: uint32(w), Height: uint32(h)}
		if ioctl(d.fd, vidiocEnumFrameInterval, unsafe.Pointer(&e)) != nil {
			break
		}
		rate := func(num, den uint32) float64 {
			if num == 0 {
				return 0
			}
			return float64(den) / float64(num)
		}
		if e.Type == 1 { // discrete interval
			out = append(out, rate(e.Union[0], e.Union[1]))
			continue
		}
		// continuous/stepwise: min interval is the max rate
		out = append(out, rate(e.Union[2], e.Union[3]), rate(e.Union[0], e.Union[1]))
		break
	}
	return out
}

// FormatDesc is one pixel format a queue offers.
type FormatDesc struct {
	FourCC      uint32
	Description string
	Sizes       []FrameSize
}

// FrameSize is a discrete size (Min == Max) or a stepwise range.
type FrameSize struct {
	MinW, MaxW, StepW int
	MinH, MaxH, StepH int
}

// Fits reports whether w x h is one of the sizes described.
func (s FrameSize) Fits(w, h int) bool {
	in := func(v, lo, hi, step int) bool {
		if v < lo || v > hi {
			return false
		}
		return step <= 1 || (v-lo)%step == 0
	}
	return in(w, s.MinW, s.MaxW, s.StepW) && in(h, s.MinH, s.MaxH, s.StepH)
}

func (s FrameSize) String() string {
	if s.MinW == s.MaxW && s.MinH == s.MaxH {
		return fmt.Sprintf("%dx%d", s.MinW, s.MinH)
	}
	return fmt.Sprintf("%dx%d-%dx%d", s.MinW, s.MinH, s.MaxW, s.MaxH)
}

func frameSizes(fd int, pix uint32) []FrameSize {
	var out []FrameSize
	for i := uint32(0); i < 64; i++ {
		s := frmsizeenum{Index: i, PixelFormat: pix}
		if ioctl(fd, vidiocEnumFramesizes, unsafe.Pointer(&s)) != nil {
			break
		}
		u := s.Union
		if s.Type == 1 { // discrete
			out = append(out, FrameSize{MinW: int(u[0]), MaxW: int(u[0]), MinH: int(u[1]), MaxH: int(u[1])})
			continue
		}
		out = append(out, FrameSize{MinW: int(u[0]), MaxW: int(u[1]), StepW: int(u[2]), MinH: int(u[3]), MaxH: int(u[4]), StepH: int(u[5])})
		break
	}
	return out
}

// QueueFormat is a negotiated format, the same shape for both APIs: one entry
// per memory plane (a single-planar NV12 buffer has one plane holding Y
// then UV).
type QueueFormat struct {
	FourCC       uint32
	Width        int
	Height       int
	BytesPerLine []int
	SizeImage    []int
}

// SetFormat sets the format of queue typ (S_FMT) and returns what the
// driver chose, which may differ from what was asked. sizeImage, when not
// zero, asks for coded buffers of that size (encoders' CAPTURE side).
func (d *Dev) SetFormat(typ uint32, fourcc uint32, w, h, sizeImage int) (QueueFormat, error) {
	f := rawFormat{Type: typ}
	if isMplane(typ) {
		p := (*PixFormatMplane)(unsafe.Pointer(&f.Fmt))
		p.Width, p.Height, p.PixelFormat, p.Field = uint32(w), uint32(h), fourcc, 1 // V4L2_FIELD_NONE
		p.PlaneFmt[0].SizeImage = uint32(sizeImage)
	} else {
		p := (*PixFormat)(unsafe.Pointer(&f.Fmt))
		p.Width, p.Height, p.PixelFormat, p.Field = uint32(w), uint32(h), fourcc, 1
		p.SizeImage = uint32(sizeImage)
	}
	if err := ioctl(d.fd, vidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return QueueFormat{}, fmt.Errorf("%s: VIDIOC_S_FMT %s %dx%d: %w", d.Path, FourCCString(fourcc), w, h, err)
	}
	return parseFormat(&f), nil
}

// GetFormat returns the current format of queue typ.
func (d *Dev) GetFormat(typ uint32) (QueueFormat, error) {
	f := rawFormat{Type: typ}
	if err := ioctl(d.fd, vidiocGFmt, unsafe.Pointer(&f)); err != nil {
		return QueueFormat{}, fmt.Errorf("%s: VIDIOC_G_FMT: %w", d.Path, err)
	}
	return parseFormat(&f), nil
}

func parseFormat(f *rawFormat) QueueFormat {
	if isMplane(f.Type) {
		p := (*PixFormatMplane)(unsafe.Pointer(&f.Fmt))
		out := QueueFormat{FourCC: p.PixelFormat, Width: int(p.Width), Height: int(p.Height)}
		for i := 0; i < int(p.NumPlanes) && i < len(p.PlaneFmt); i++ {
			out.BytesPerLine = append(out.BytesPerLine, int(p.PlaneFmt[i].BytesPerLine))
			out.SizeImage = append(out.SizeImage, int(p.PlaneFmt[i].SizeImage))
		}
		return out
	}
	p := (*PixFormat)(unsafe.Pointer(&f.Fmt))
	return QueueFormat{FourCC: p.PixelFormat, Width: int(p.Width), Height: int(p.Height),
		BytesPerLine: []int{int(p.BytesPerLine)}, SizeImage: []int{int(p.SizeImage)}}
}

// SetCrop sets the visible rectangle of queue typ (VIDIOC_S_SELECTION,
// V4L2_SEL_TGT_CROP) to w x h at the origin: an encoder codes the aligned
// size S_FMT gave but signals this one (H.264 SPS cropping). It returns
// the rectangle the driver chose.
func (d *Dev) SetCrop(typ uint32, w, h int) (int, int, error) {
	// Selection takes the single-planar type names for both APIs.
	switch typ {
	case BufTypeVideoCaptureMplane:
		typ = BufTypeVideoCapture
	case BufTypeVideoOutputMplane:
		typ = BufTypeVideoOutput
	}
	s := selection{Type: typ, Target: 0, Width: uint32(w), Height: uint32(h)}
	if err := ioctl(d.fd, vidiocSSelection, unsafe.Pointer(&s)); err != nil {
		return 0, 0, fmt.Errorf("%s: VIDIOC_S_SELECTION crop %dx%d: %w", d.Path, w, h, err)
	}
	return int(s.Width), int(s.Height), nil
}

// SetFrameRate asks queue typ for fps frames per second (S_PARM) and
// returns the rate the driver settled on (0 when it does not say).
func (d *Dev) SetFrameRate(typ uint32, fps int) (float64, error) {
	p := streamParm{Type: typ, TimePerFrame: fract{1, uint32(fps)}}
	if err := ioctl(d.fd, vidiocSParm, unsafe.Pointer(&p)); err != nil {
		return 0, fmt.Errorf("%s: VIDIOC_S_PARM %d fps: %w", d.Path, fps, err)
	}
	if p.TimePerFrame.Numerator == 0 {
		return 0, nil
	}
	return float64(p.TimePerFrame.Denominator) / float64(p.TimePerFrame.Numerator), nil
}

// SetControl sets a control (VIDIOC_S_CTRL).
func (d *Dev) SetControl(id uint32, value int32) error {
	c := control{ID: id, Value: value}
	return ioctl(d.fd, vidiocSCtrl, unsafe.Pointer(&c))
}

// GetControl reads a control (VIDIOC_G_CTRL).
func (d *Dev) GetControl(id uint32) (int32, error) {
	c := control{ID: id}
	err := ioctl(d.fd, vidiocGCtrl, unsafe.Pointer(&c))
	return c.Value, err
}

// EncoderCommand sends VIDIOC_ENCODER_CMD (EncCmdStop drains).
func (d *Dev) EncoderCommand(cmd uint32) error {
	c := encoderCmd{Cmd: cmd}
	return ioctl(d.fd, vidiocEncoderCmd, unsafe.Pointer(&c))
}

// Poll waits up to timeout for the node to have a buffer to dequeue on
// either queue (POLLIN: capture side; POLLOUT: output side), or an error.
func (d *Dev) Poll(events int16, timeout time.Duration) (int16, error) {
	fds := []unix.PollFd{{Fd: int32(d.fd), Events: events}}
	for {
		n, err := unix.Poll(fds, int(timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return 0, err
		}
		return fds[0].Revents, nil
	}
}

func isMplane(typ uint32) bool {
	return typ == BufTypeVideoCaptureMplane || typ == BufTypeVideoOutputMplane
}

// Raw pixel formats the camera and the encoder both speak: the 4:2:0
// layouts the encoders take (contiguous, or one memory plane per colour
// plane) and packed YUYV.
const (
	FourCCNV12  = 0x3231564e // 'NV12'
	FourCCI420  = 0x32315559 // 'YU12'
	FourCCNV12M = 0x32314d4e // 'NM12'
	FourCCI420M = 0x32314d59 // 'YM12'
	FourCCYUYV  = 0x56595559 // 'YUYV'
)

// PixelOf is the layout frames of a raw format have in our pipeline: NV12
// for the NV12 formats, I420 for the others (YU12 and YM12 as they are,
// YUYV once converted).
func PixelOf(fourcc uint32) media.PixelFormat {
	if fourcc == FourCCNV12 || fourcc == FourCCNV12M {
		return media.PixelFormatNV12
	}
	return media.PixelFormatI420
}

// FourCCString spells a pixel format code.
func FourCCString(v uint32) string { return fourcc(v) }

// Queue is one buffer queue of a device (the camera's CAPTURE queue, or an
// encoder's OUTPUT or CAPTURE queue) with its MMAP buffers.
type Queue struct {
	dev    *Dev
	Type   uint32
	mplane bool
	memory uint32
	// Buffers[i][p] is plane p of buffer i, mapped from the driver (MMAP
	// queues only).
	Buffers [][][]byte
	// Slots is how many buffers the queue has: MMAP buffers, or for a
	// DMABUF queue the slots that imported buffers are queued in.
	Slots int
	mu    sync.Mutex // guards freed against late Queue calls
	freed bool
	on    bool
}

// Dequeued describes a buffer taken from the driver.
type Dequeued struct {
	Index     int
	BytesUsed []int // per plane, excluding DataOffset
	Offset    []int // per plane: where the data starts
	Flags     uint32
	Sequence  uint32
	// Timestamp is the kernel's, in the clock that Flags names
	// (BufFlagTimestampMonotonic: CLOCK_MONOTONIC).
	Timestamp time.Duration
}

// RequestBuffers allocates count MMAP buffers on queue typ and maps them.
// The driver may give more or fewer; len(q.Buffers) says how many.
func (d *Dev) RequestBuffers(typ uint32, count int) (*Queue, error) {
	q := &Queue{dev: d, Type: typ, mplane: isMplane(typ), memory: memoryMMAP}
	rb := requestBuffers{Count: uint32(count), Type: typ, Memory: memoryMMAP}
	if err := ioctl(d.fd, vidiocReqbufs, unsafe.Pointer(&rb)); err != nil {
		return nil, fmt.Errorf("%s: VIDIOC_REQBUFS %d: %w", d.Path, count, err)
	}
	if rb.Count == 0 {
		return nil, fmt.Errorf("%s: the driver gave no buffers", d.Path)
	}
	q.Slots = int(rb.Count)
	for i := 0; i < int(rb.Count); i++ {
		var planes [8]rawPlane
		b := rawBuffer{Index: uint32(i), Type: typ, Memory: memoryMMAP}
		if q.mplane {
			b.M, b.Length = uintptr(unsafe.Pointer(&planes[0])), uint32(len(planes))
		}
		if err := ioctl(d.fd, vidiocQuerybuf, unsafe.Pointer(&b)); err != nil {
			q.Free()
			return nil, fmt.Errorf("%s: VIDIOC_QUERYBUF %d: %w", d.Path, i, err)
		}
		var maps [][]byte
		type span struct{ off, n int }
		var spans []span
		if q.mplane {
			for p := 0; p < int(b.Length); p++ {
				spans = append(spans, span{int(planes[p].M), int(planes[p].Length)})
			}
		} else {
			spans = append(spans, span{int(b.M), int(b.Length)})
		}
		for _, s := range spans {
			m, err := unix.Mmap(d.fd, int64(s.off), s.n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			if err != nil {
				q.Buffers = append(q.Buffers, maps)
				q.Free()
				return nil, fmt.Errorf("%s: mmap buffer %d: %w", d.Path, i, err)
			}
			maps = append(maps, m)
		}
		q.Buffers = append(q.Buffers, maps)
	}
	return q, nil
}

// RequestDMABUF sets queue typ up for count imported buffers (memory
// DMABUF): nothing is allocated or mapped, QueueDMABUF hands the driver
// another device's buffers. An error wrapping EINVAL means the driver
// does not import.
func (d *Dev) RequestDMABUF(typ uint32, count int) (*Queue, error) {
	q := &Queue{dev: d, Type: typ, mplane: isMplane(typ), memory: memoryDMABUF}
	rb := requestBuffers{Count: uint32(count), Type: typ, Memory: memoryDMABUF}
	if err := ioctl(d.fd, vidiocReqbufs, unsafe.Pointer(&rb)); err != nil {
		return nil, fmt.Errorf("%s: VIDIOC_REQBUFS %d DMABUF: %w", d.Path, count, err)
	}
	if rb.Count == 0 {
		return nil, fmt.Errorf("%s: the driver gave no DMABUF slots", d.Path)
	}
	q.Slots = int(rb.Count)
	return q, nil
}

// Export returns a dma-buf file descriptor for each memory plane of MMAP
// buffer i (VIDIOC_EXPBUF), for another device to import. The caller
// closes them; the memory lives until the last of the driver's queue and
// the descriptors lets go of it.
func (q *Queue) Export(i int) ([]int, error) {
	if q.memory != memoryMMAP || i < 0 || i >= len(q.Buffers) {
		return nil, fmt.Errorf("%s: no MMAP buffer %d to export", q.dev.Path, i)
	}
	var fds []int
	for p := range q.Buffers[i] {
		e := exportBuffer{Type: q.Type, Index: uint32(i), Plane: uint32(p), Flags: unix.O_RDWR | unix.O_CLOEXEC}
		if err := ioctl(q.dev.fd, vidiocExpbuf, unsafe.Pointer(&e)); err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("%s: VIDIOC_EXPBUF %d/%d: %w", q.dev.Path, i, p, err)
		}
		fds = append(fds, int(e.FD))
	}
	return fds, nil
}

// DMAPlane is one memory plane of an imported buffer.
type DMAPlane struct {
	FD        int
	Length    int // the dma-buf's size
	BytesUsed int // payload, from Offset on
	Offset    int
}

// QueueDMABUF hands slot i of a DMABUF queue to the driver with planes
// as its memory, stamped ts (OUTPUT queues).
func (q *Queue) QueueDMABUF(i int, planes []DMAPlane, ts time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.freed {
		return fmt.Errorf("%s: queue freed", q.dev.Path)
	}
	if q.memory != memoryDMABUF || i < 0 || i >= q.Slots || len(planes) == 0 || len(planes) > 8 || (!q.mplane && len(planes) != 1) {
		return fmt.Errorf("%s: cannot queue %d dma-buf planes in slot %d", q.dev.Path, len(planes), i)
	}
	var raw [8]rawPlane
	b := rawBuffer{Index: uint32(i), Type: q.Type, Memory: memoryDMABUF}
	b.Timestamp = timeval64{Sec: int64(ts / time.Second), Usec: int64(ts % time.Second / time.Microsecond)}
	if q.mplane {
		for p, pl := range planes {
			// bytesused counts from the start of the buffer, data
			// offset included (videodev2.h).
			raw[p] = rawPlane{BytesUsed: uint32(pl.Offset + pl.BytesUsed), Length: uint32(pl.Length), M: uintptr(uint32(pl.FD)), DataOffset: uint32(pl.Offset)}
		}
		b.M, b.Length = uintptr(unsafe.Pointer(&raw[0])), uint32(len(planes))
	} else {
		if planes[0].Offset != 0 {
			return fmt.Errorf("%s: a single-planar dma-buf cannot start at offset %d", q.dev.Path, planes[0].Offset)
		}
		b.M, b.BytesUsed, b.Length = uintptr(uint32(planes[0].FD)), uint32(planes[0].BytesUsed), uint32(planes[0].Length)
	}
	if err := ioctl(q.dev.fd, vidiocQbuf, unsafe.Pointer(&b)); err != nil {
		return fmt.Errorf("%s: VIDIOC_QBUF %d DMABUF: %w", q.dev.Path, i, err)
	}
	return nil
}

// Queue hands buffer i to the driver. For an OUTPUT queue, bytesUsed gives
// each plane's payload and ts the frame's timestamp (copied to the coded
// buffer by encoders); for a CAPTURE queue both are ignored.
func (q *Queue) Queue(i int, bytesUsed []int, ts time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.freed {
		return fmt.Errorf("%s: queue freed", q.dev.Path)
	}
	var planes [8]rawPlane
	b := rawBuffer{Index: uint32(i), Type: q.Type, Memory: memoryMMAP}
	b.Timestamp = timeval64{Sec: int64(ts / time.Second), Usec: int64(ts % time.Second / time.Microsecond)}
	if q.mplane {
		n := len(q.Buffers[i])
		for p := 0; p < n; p++ {
			planes[p].Length = uint32(len(q.Buffers[i][p]))
			if p < len(bytesUsed) {
				planes[p].BytesUsed = uint32(bytesUsed[p])
			}
		}
		b.M, b.Length = uintptr(unsafe.Pointer(&planes[0])), uint32(n)
	} else if len(bytesUsed) > 0 {
		b.BytesUsed = uint32(bytesUsed[0])
		b.Length = uint32(len(q.Buffers[i][0]))
	}
	if err := ioctl(q.dev.fd, vidiocQbuf, unsafe.Pointer(&b)); err != nil {
		return fmt.Errorf("%s: VIDIOC_QBUF %d: %w", q.dev.Path, i, err)
	}
	return nil
}

// Dequeue takes a finished buffer from the driver, ErrAgain when none is
// ready. Errors wrap the errno (ENODEV: the device is gone; EPIPE: an
// encoder's CAPTURE queue after the LAST buffer).
func (q *Queue) Dequeue() (Dequeued, error) {
	var planes [8]rawPlane
	b := rawBuffer{Type: q.Type, Memory: q.memory}
	if q.mplane {
		b.M, b.Length = uintptr(unsafe.Pointer(&planes[0])), uint32(len(planes))
	}
	if err := ioctl(q.dev.fd, vidiocDqbuf, unsafe.Pointer(&b)); err != nil {
		if err == unix.EAGAIN {
			return Dequeued{}, ErrAgain
		}
		return Dequeued{}, fmt.Errorf("%s: VIDIOC_DQBUF: %w", q.dev.Path, err)
	}
	d := Dequeued{Index: int(b.Index), Flags: b.Flags, Sequence: b.Sequence,
		Timestamp: time.Duration(b.Timestamp.Sec)*time.Second + time.Duration(b.Timestamp.Usec)*time.Microsecond}
	if int(b.Index) >= q.Slots {
		return d, fmt.Errorf("%s: VIDIOC_DQBUF gave buffer %d of %d", q.dev.Path, b.Index, q.Slots)
	}
	if q.mplane {
		for p := 0; p < int(b.Length) && p < len(planes); p++ {
			off := int(planes[p].DataOffset)
			n := int(planes[p].BytesUsed) - off
			d.BytesUsed, d.Offset = append(d.BytesUsed, max(n, 0)), append(d.Offset, off)
		}
	} else {
		d.BytesUsed, d.Offset = []int{int(b.BytesUsed)}, []int{0}
	}
	return d, nil
}

// StreamOn starts the queue.
func (q *Queue) StreamOn() error {
	t := int32(q.Type)
	if err := ioctl(q.dev.fd, vidiocStreamon, unsafe.Pointer(&t)); err != nil {
		return fmt.Errorf("%s: VIDIOC_STREAMON: %w", q.dev.Path, err)
	}
	q.on = true
	return nil
}

// StreamOff stops the queue; the driver gives every buffer back.
func (q *Queue) StreamOff() error {
	t := int32(q.Type)
	q.on = false
	if err := ioctl(q.dev.fd, vidiocStreamoff, unsafe.Pointer(&t)); err != nil {
		return fmt.Errorf("%s: VIDIOC_STREAMOFF: %w", q.dev.Path, err)
	}
	return nil
}

// Free stops the queue if running, unmaps the buffers and releases them in
// the driver (REQBUFS 0). Nothing may touch Buffers afterwards.
func (q *Queue) Free() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.freed {
		return nil
	}
	q.freed = true
	if q.on {
		q.StreamOff()
	}
	for _, planes := range q.Buffers {
		for _, m := range planes {
			unix.Munmap(m)
		}
	}
	q.Buffers = nil
	rb := requestBuffers{Type: q.Type, Memory: q.memory}
	return ioctl(q.dev.fd, vidiocReqbufs, unsafe.Pointer(&rb))
}

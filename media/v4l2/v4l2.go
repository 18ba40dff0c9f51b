// Package v4l2 holds the few V4L2 ioctls that both capture (cameras) and
// encode (memory-to-memory encoders) use to find devices: capability and
// format enumeration. The structs here contain no pointers or longs, so
// their layout is the same on every architecture (amd64, arm64, armv7);
// layout_test.go checks the sizes against the kernel's.
//
// Written by hand because blackjack/webcam covers single-planar capture
// only and go4vl is not allowed here; this is just enough to probe.
package v4l2

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Capability bits (videodev2.h).
const (
	CapVideoCapture       = 0x00000001
	CapVideoOutput        = 0x00000002
	CapVideoCaptureMplane = 0x00001000
	CapVideoOutputMplane  = 0x00002000
	CapVideoM2MMplane     = 0x00004000
	CapVideoM2M           = 0x00008000
	CapStreaming          = 0x04000000
	CapDeviceCaps         = 0x80000000
)

// Buffer types.
const (
	BufTypeVideoCapture       = 1
	BufTypeVideoOutput        = 2
	BufTypeVideoCaptureMplane = 9
	BufTypeVideoOutputMplane  = 10
)

// capability is struct v4l2_capability (104 bytes).
type capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

// fmtdesc is struct v4l2_fmtdesc (64 bytes).
type fmtdesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

// frmsizeenum is struct v4l2_frmsizeenum (44 bytes): index, pixel_format,
// type, then a union of discrete {width, height} or stepwise {min_width,
// max_width, step_width, min_height, max_height, step_height}, reserved[2].
type frmsizeenum struct {
	Index       uint32
	PixelFormat uint32
	Type        uint32
	Union       [6]uint32
	Reserved    [2]uint32
}

// ioctl request numbers: _IOR('V', 0, capability), _IOWR('V', 2, fmtdesc),
// _IOWR('V', 74, frmsizeenum).
var (
	vidiocQuerycap       = ior('V', 0, unsafe.Sizeof(capability{}))
	vidiocEnumFmt        = iowr('V', 2, unsafe.Sizeof(fmtdesc{}))
	vidiocEnumFramesizes = iowr('V', 74, unsafe.Sizeof(frmsizeenum{}))
)

func ioc(dir, typ, nr, size uintptr) uintptr  { return dir<<30 | size<<16 | typ<<8 | nr }
func ior(typ byte, nr, size uintptr) uintptr  { return ioc(2, uintptr(typ), nr, size) }
func iowr(typ byte, nr, size uintptr) uintptr { return ioc(3, uintptr(typ), nr, size) }

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// Format is one pixel format a queue offers, with its discrete sizes.
type Format struct {
	FourCC      string
	Description string
	Sizes       []string // "1280x720", or "16x16-1920x1080" for a range
}

// Device is a probed V4L2 node.
type Device struct {
	Path   string
	Name   string // from sysfs
	Driver string
	Card   string
	Caps   uint32 // device capabilities
	// Capture is what the device delivers (camera frames, or an encoder's
	// bitstream); Output is what it takes (an encoder's raw frames).
	Capture []Format
	Output  []Format
}

// IsCamera reports a capture device that is not a memory-to-memory one.
func (d Device) IsCamera() bool {
	return d.Caps&(CapVideoCapture|CapVideoCaptureMplane) != 0 && d.Caps&(CapVideoM2M|CapVideoM2MMplane) == 0
}

// IsM2M reports a memory-to-memory device (codec, scaler).
func (d Device) IsM2M() bool { return d.Caps&(CapVideoM2M|CapVideoM2MMplane) != 0 }

// Multiplanar reports the multi-planar API.
func (d Device) Multiplanar() bool {
	return d.Caps&(CapVideoCaptureMplane|CapVideoM2MMplane) != 0
}

// Has reports whether the capture side offers fourcc.
func (d Device) Has(fourcc string) bool {
	for _, f := range d.Capture {
		if f.FourCC == fourcc {
			return true
		}
	}
	return false
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func fourcc(v uint32) string {
	return strings.TrimRight(string([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}), " \x00")
}

// Probe opens one node and asks it what it is.
func Probe(path string) (Device, error) {
	d := Device{Path: path}
	if b, err := os.ReadFile(filepath.Join("/sys/class/video4linux", filepath.Base(path), "name")); err == nil {
		d.Name = strings.TrimSpace(string(b))
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return d, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var c capability
	if err := ioctl(fd, vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
		return d, fmt.Errorf("%s: VIDIOC_QUERYCAP: %w", path, err)
	}
	d.Driver, d.Card = cstr(c.Driver[:]), cstr(c.Card[:])
	d.Caps = c.Capabilities
	if c.Capabilities&CapDeviceCaps != 0 {
		d.Caps = c.DeviceCaps
	}
	capType, outType := uint32(BufTypeVideoCapture), uint32(BufTypeVideoOutput)
	if d.Multiplanar() {
		capType, outType = BufTypeVideoCaptureMplane, BufTypeVideoOutputMplane
	}
	d.Capture = enumFormats(fd, capType)
	if d.IsM2M() || d.Caps&(CapVideoOutput|CapVideoOutputMplane) != 0 {
		d.Output = enumFormats(fd, outType)
	}
	return d, nil
}

func enumFormats(fd int, typ uint32) []Format {
	var out []Format
	for i := uint32(0); i < 256; i++ {
		f := fmtdesc{Index: i, Type: typ}
		if ioctl(fd, vidiocEnumFmt, unsafe.Pointer(&f)) != nil {
			break
		}
		out = append(out, Format{FourCC: fourcc(f.PixelFormat), Description: cstr(f.Description[:]), Sizes: enumSizes(fd, f.PixelFormat)})
	}
	return out
}

func enumSizes(fd int, pix uint32) []string {
	var out []string
	for i := uint32(0); i < 64; i++ {
		s := frmsizeenum{Index: i, PixelFormat: pix}
		if ioctl(fd, vidiocEnumFramesizes, unsafe.Pointer(&s)) != nil {
			break
		}
		if s.Type == 1 { // discrete
			out = append(out, fmt.Sprintf("%dx%d", s.Union[0], s.Union[1]))
			continue
		}
		out = append(out, fmt.Sprintf("%dx%d-%dx%d", s.Union[0], s.Union[3], s.Union[1], s.Union[4]))
		break // stepwise/continuous: one entry says it all
	}
	return out
}

// List probes every /dev/video* node, in order. Nodes that cannot be
// opened are reported with their error, not skipped silently.
func List(dev string) ([]Device, []error) {
	paths, _ := filepath.Glob(filepath.Join(dev, "video*"))
	sort.Strings(paths)
	var devs []Device
	var errs []error
	for _, p := range paths {
		d, err := Probe(p)
		if err != nil {
			if !errors.Is(err, unix.ENOENT) {
				errs = append(errs, err)
			}
			continue
		}
		devs = append(devs, d)
	}
	return devs, errs
}

package v4l2

// The streaming structs of videodev2.h. Unlike the probing ones in v4l2.go
// these differ between architectures: pointers and unsigned longs are 8 bytes
// on amd64/arm64 and 4 on armv7, and the kernel's 64-bit members align to 8
// on arm where Go aligns them to 4. One Go definition serves every GOARCH:
// kernel pointers and longs are uintptr, unions that the kernel aligns to 8
// on 64-bit only are [n]uint64 (4-aligned on arm in Go, as in the kernel's
// 32-bit ABI there), and the padding the kernel inserts before 64-bit
// members is an explicit field. layout_arch_test.go type-checks this file
// for amd64, arm64 and arm and compares with the kernel's sizes and offsets.
//
// This file must not import anything: the test type-checks it on its own.

// PixFormat is struct v4l2_pix_format (48 bytes).
type PixFormat struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YcbcrEnc     uint32
	Quantization uint32
	XferFunc     uint32
}

// PlaneFormat is struct v4l2_plane_pix_format (20 bytes).
type PlaneFormat struct {
	SizeImage    uint32
	BytesPerLine uint32
	Reserved     [6]uint16
}

// PixFormatMplane is struct v4l2_pix_format_mplane (192 bytes, packed but
// naturally aligned).
type PixFormatMplane struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	Colorspace   uint32
	PlaneFmt     [8]PlaneFormat
	NumPlanes    uint8
	Flags        uint8
	YcbcrEnc     uint8
	Quantization uint8
	XferFunc     uint8
	Reserved     [7]uint8
}

// rawFormat is struct v4l2_format: the type, then a 200-byte union that
// holds a pointer-carrying v4l2_window, hence 8-aligned on 64-bit (208
// bytes) and 4-aligned on arm (204 bytes).
type rawFormat struct {
	Type uint32
	Fmt  [25]uint64
}

// requestBuffers is struct v4l2_requestbuffers (20 bytes).
type requestBuffers struct {
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

// timeval64 is the kernel's __kernel_v4l2_timeval: two 64-bit words on
// every architecture. On 32-bit arm the kernel takes this (64-bit time)
// layout under the plain VIDIOC_QBUF number and the old 32-bit one under
// VIDIOC_QBUF_TIME32; the size in the request number picks between them,
// so we use the one that survives 2038.
type timeval64 struct {
	Sec  int64
	Usec int64
}

// rawBuffer is struct v4l2_buffer: 88 bytes on amd64/arm64, 80 on arm.
type rawBuffer struct {
	Index     uint32
	Type      uint32
	BytesUsed uint32
	Flags     uint32
	Field     uint32
	_         uint32 // the kernel aligns timestamp to 8 on every arch
	Timestamp timeval64
	Timecode  [16]byte
	Sequence  uint32
	Memory    uint32
	M         uintptr // offset (single-planar) or *rawPlane (multi-planar)
	Length    uint32  // bytes (single-planar) or planes (multi-planar)
	Reserved2 uint32
	RequestFD int32
}

// rawPlane is struct v4l2_plane: 64 bytes on 64-bit, 60 on arm.
type rawPlane struct {
	BytesUsed  uint32
	Length     uint32
	M          uintptr // mem_offset / userptr / fd
	DataOffset uint32
	Reserved   [11]uint32
}

// fract is struct v4l2_fract.
type fract struct {
	Numerator   uint32
	Denominator uint32
}

// streamParm is struct v4l2_streamparm (204 bytes) with the capture
// member of its union spelled out (v4l2_captureparm, 40 bytes); the output
// member has timeperframe at the same offset.
type streamParm struct {
	Type         uint32
	Capability   uint32
	CaptureMode  uint32
	TimePerFrame fract
	ExtendedMode uint32
	ReadBuffers  uint32
	Reserved     [4]uint32
	_            [160]byte
}

// control is struct v4l2_control (8 bytes).
type control struct {
	ID    uint32
	Value int32
}

// encoderCmd is struct v4l2_encoder_cmd (40 bytes).
type encoderCmd struct {
	Cmd   uint32
	Flags uint32
	Data  [8]uint32
}

// frmivalenum is struct v4l2_frmivalenum (52 bytes): the union is a
// discrete fract or stepwise {min, max, step} fracts.
type frmivalenum struct {
	Index       uint32
	PixelFormat uint32
	Width       uint32
	Height      uint32
	Type        uint32
	Union       [6]uint32
	Reserved    [2]uint32
}

// selection is struct v4l2_selection (64 bytes).
type selection struct {
	Type     uint32
	Target   uint32
	Flags    uint32
	Left     int32
	Top      int32
	Width    uint32
	Height   uint32
	Reserved [9]uint32
}

// exportBuffer is struct v4l2_exportbuffer (64 bytes on every arch).
type exportBuffer struct {
	Type     uint32
	Index    uint32
	Plane    uint32
	Flags    uint32
	FD       int32
	Reserved [11]uint32
}

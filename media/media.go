// Package media holds the types that every stage of the pipeline shares:
// raw video frames and PCM blocks from capture, encoded access units from the
// encoders, and the codec parameters a publisher needs to describe its tracks.
//
// Time in the pipeline is a time.Duration on one monotonic clock that starts
// when the stream starts (see Clock). Capture sources stamp frames on it, the
// encoders carry it through as PTS/DTS, and publishers convert it to their
// wire clocks (90 kHz for MPEG-TS and RTP, milliseconds for FLV).
package media

import "time"

// PixelFormat is the memory layout of a raw video frame.
type PixelFormat int

// Pixel formats the pipeline understands. The encoders take I420 or NV12;
// cameras that only give YUYV are converted in capture.
const (
	PixelFormatUnknown PixelFormat = iota
	PixelFormatI420                // planar Y, U, V; chroma subsampled 2x2
	PixelFormatNV12                // planar Y, interleaved UV; chroma subsampled 2x2
	PixelFormatYUYV                // packed 4:2:2
)

func (f PixelFormat) String() string {
	switch f {
	case PixelFormatI420:
		return "I420"
	case PixelFormatNV12:
		return "NV12"
	case PixelFormatYUYV:
		return "YUYV"
	}
	return "unknown"
}

// VideoFormat describes raw frames as a source delivers them.
type VideoFormat struct {
	Pixel  PixelFormat
	Width  int
	Height int
	FPS    int // nominal frames per second
}

// VideoFrame is one raw picture. Planes and Strides follow Pixel: three planes
// for I420, two for NV12, one for YUYV. The memory may belong to a driver or a
// pool: the consumer calls Release when done so the buffer can be reused.
type VideoFrame struct {
	Format  VideoFormat
	Planes  [][]byte
	Strides []int
	// PTS is the capture instant on the pipeline clock.
	PTS time.Duration
	// Captured is the wall-clock capture instant, carried for latency
	// measurement across machines.
	Captured time.Time
	// Seq is the source's frame sequence number; a gap means frames were lost
	// before they reached us.
	Seq uint64
	// DMABuf, when not nil, names the frame's memory as dma-buf file
	// descriptors, so a hardware encoder can read the camera's buffer
	// itself instead of copying Planes. Valid until Release.
	DMABuf *DMABuf

	release func()
}

// DMABuf is a frame's buffer as the kernel shares it between devices: one
// dma-buf per memory plane, in the layout of a V4L2 pixel format. An
// importer must check that the layout is one it takes as it is (same
// fourcc, line lengths and plane height); otherwise it copies Planes.
type DMABuf struct {
	FourCC        uint32 // V4L2 pixel format of the buffer
	Width, Height int    // the buffer's size, which may be padded beyond the frame's
	BytesPerLine  []int  // per memory plane
	FDs           []int  // per memory plane, owned by the source
	Lengths       []int  // each memory plane's buffer size
	BytesUsed     []int  // payload per memory plane, after Offsets
	Offsets       []int  // where each plane's data starts
}

// SetRelease sets the function Release calls. Sources use it to get their
// buffer back.
func (f *VideoFrame) SetRelease(fn func()) { f.release = fn }

// Keep takes over the frame's memory from whoever holds the frame: Release
// does nothing afterwards, and the returned function hands the memory
// back. An encoder that reads the frame after Encode returns (a hardware
// encoder importing its dma-buf) keeps it until the device is done with
// it; the pipeline's own Release then leaves it alone.
func (f *VideoFrame) Keep() func() {
	fn := f.release
	f.release = nil
	if fn == nil {
		return func() {}
	}
	return fn
}

// Release hands the frame's memory back to its owner. It is safe to call on a
// frame without a release function, and only the first call has an effect.
func (f *VideoFrame) Release() {
	if fn := f.release; fn != nil {
		f.release = nil
		fn()
	}
}

// AudioFormat describes PCM as a source delivers it: signed 16-bit
// little-endian samples, interleaved by channel.
type AudioFormat struct {
	SampleRate int
	Channels   int
}

// AudioBlock is a run of interleaved S16 PCM samples.
type AudioBlock struct {
	Format  AudioFormat
	Samples []int16 // len = frames * channels
	// PTS is the instant of the first sample on the pipeline clock, derived
	// from the sample count so that it never drifts.
	PTS time.Duration
}

// Frames returns the number of sample frames (samples per channel).
func (b *AudioBlock) Frames() int {
	if b.Format.Channels == 0 {
		return 0
	}
	return len(b.Samples) / b.Format.Channels
}

// Codec names an encoded bitstream.
type Codec int

// Codecs the pipeline produces.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecAAC
	CodecOpus
)

func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "H264"
	case CodecAAC:
		return "AAC"
	case CodecOpus:
		return "Opus"
	}
	return "unknown"
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 }

// AccessUnit is one encoded picture or audio frame.
//
// For H.264, NALUs holds the NAL units without start codes; an IDR access unit
// carries its SPS and PPS in front (encoders guarantee that, so every
// publisher can start or resume on any keyframe). For AAC, NALUs holds one raw
// AAC frame (no ADTS header); for Opus one Opus packet.
type AccessUnit struct {
	Codec Codec
	PTS   time.Duration
	DTS   time.Duration
	Key   bool // H.264 IDR; always true for audio
	NALUs [][]byte
	// Captured is the wall-clock capture instant of the source frame.
	Captured time.Time
	// Resync marks the keyframe of a step down to a smaller picture or
	// frame rate: the encoder's answer to a link that cannot carry the
	// stream. A receiver that has not decoded what came before it needs
	// none of that any more, and a transport may stop repairing it so that
	// this keyframe has the link (SRT abandons its retransmissions).
	Resync bool
}

// Size returns the payload size in bytes.
func (au *AccessUnit) Size() int {
	n := 0
	for _, b := range au.NALUs {
		n += len(b)
	}
	return n
}

// VideoParams describes an encoded video track.
type VideoParams struct {
	Codec   Codec
	Width   int
	Height  int
	FPS     int
	Bitrate int // bit/s, target
	GOP     int // frames between keyframes
	// SPS and PPS of the current configuration, when known before the first
	// access unit. They are always repeated in band before every IDR.
	SPS []byte
	PPS []byte
}

// AudioParams describes an encoded audio track.
type AudioParams struct {
	Codec      Codec
	SampleRate int
	Channels   int
	Bitrate    int // bit/s
	// Config is the AAC AudioSpecificConfig (nil for Opus).
	Config []byte
	// FrameSamples is the number of samples per channel in one access unit
	// (1024 for AAC-LC, 960 for 20 ms Opus at 48 kHz).
	FrameSamples int
}

// ParameterSets returns the SPS and PPS among an H.264 access unit's NAL
// units (the last of each), nil where there is none. Wherever they sit:
// after an access unit delimiter or an SEI as well as first.
func ParameterSets(nalus [][]byte) (sps, pps []byte) {
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case 7:
			sps = n
		case 8:
			pps = n
		}
	}
	return sps, pps
}

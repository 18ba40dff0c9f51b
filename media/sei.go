package media

import (
	"encoding/binary"
	"time"
)

// CaptureTimeUUID marks glassagent's capture-time SEI: H.264 "user data
// unregistered" (payload type 5) carrying, after this UUID, the wall-clock
// instant the frame was captured as microseconds since the Unix epoch (big
// endian). A receiver that finds it computes capture-to-arrival latency
// without any side channel; one that does not know it ignores it, as the
// standard says.
var CaptureTimeUUID = [16]byte{0x67, 0x6c, 0x61, 0x73, 0x73, 0x61, 0x67, 0x65, 0x6e, 0x74, 0x2d, 0x63, 0x61, 0x70, 0x74, 0x31} // "glassagent-capt1"

// seiPayloadSize is the UUID and the 8-byte timestamp.
const seiPayloadSize = 16 + 8

// AppendCaptureTimeSEI appends one SEI NAL unit (no start code) carrying t
// to dst. Emulation prevention bytes are inserted where the timestamp needs
// them, so the unit is valid in Annex-B and AVCC alike.
func AppendCaptureTimeSEI(dst []byte, t time.Time) []byte {
	var raw [2 + seiPayloadSize]byte
	raw[0], raw[1] = 5, seiPayloadSize // payload type, payload size
	copy(raw[2:], CaptureTimeUUID[:])
	binary.BigEndian.PutUint64(raw[18:], uint64(t.UnixMicro()))
	dst = append(dst, 0x06) // nal_unit_type 6 (SEI), nal_ref_idc 0
	zeros := 0
	for _, b := range raw {
		if zeros >= 2 && b <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return append(dst, 0x80) // rbsp_trailing_bits
}

// ParseCaptureTimeSEI returns the capture instant in an SEI NAL unit made by
// AppendCaptureTimeSEI (or any SEI holding such a payload among others).
func ParseCaptureTimeSEI(nalu []byte) (time.Time, bool) {
	if len(nalu) < 2 || nalu[0]&0x1f != 6 {
		return time.Time{}, false
	}
	// Remove emulation prevention into a small fixed buffer: an SEI of
	// ours is 27 bytes, and others are skipped as soon as they do not fit.
	var buf [256]byte
	n, zeros := 0, 0
	for _, b := range nalu[1:] {
		if zeros >= 2 && b == 3 {
			zeros = 0
			continue
		}
		if n == len(buf) {
			break
		}
		buf[n] = b
		n++
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	p := buf[:n]
	for len(p) > 2 && p[0] != 0x80 {
		typ, size := 0, 0
		for len(p) > 0 && p[0] == 0xff {
			typ, p = typ+255, p[1:]
		}
		if len(p) == 0 {
			break
		}
		typ, p = typ+int(p[0]), p[1:]
		for len(p) > 0 && p[0] == 0xff {
			size, p = size+255, p[1:]
		}
		if len(p) == 0 {
			break
		}
		size, p = size+int(p[0]), p[1:]
		if size > len(p) {
			break
		}
		if typ == 5 && size == seiPayloadSize && [16]byte(p[:16]) == CaptureTimeUUID {
			return time.UnixMicro(int64(binary.BigEndian.Uint64(p[16:24]))), true
		}
		p = p[size:]
	}
	return time.Time{}, false
}

//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// FLV tag bodies for RTMP video and audio messages (the FLV file format's
// VIDEODATA and AUDIODATA, which RTMP carries as message payloads). Written
// by hand because they are a few bytes of header in front of the data; the
// builders append to a caller's buffer so steady-state muxing allocates
// nothing.

const (
	flvKeyframe   = 1 << 4
	flvInterframe = 2 << 4
	flvCodecAVC   = 7

	avcSequenceHeader = 0
	avcNALU           = 1

	// AAC in FLV is always signalled as 44 kHz, 16-bit, stereo; the real
	// format is in the AudioSpecificConfig.
	flvAAC            = 10<<4 | 3<<2 | 1<<1 | 1
	aacSequenceHeader = 0
	aacRaw            = 1
)

var errNoParameterSets = errors.New("no SPS/PPS for the AVC sequence header")

// appendAVCSequenceHeader appends the video tag carrying the
// AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1) for sps and pps.
func appendAVCSequenceHeader(dst, sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || len(pps) == 0 {
		return dst, errNoParameterSets
	}
	dst = append(dst, flvKeyframe|flvCodecAVC, avcSequenceHeader, 0, 0, 0)
	dst = append(dst,
		1,      // configurationVersion
		sps[1], // AVCProfileIndication
		sps[2], // profile_compatibility
		sps[3], // AVCLevelIndication
		0xff,   // 6 bits reserved, lengthSizeMinusOne = 3
		0xe1,   // 3 bits reserved, one SPS
	)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(sps)))
	dst = append(dst, sps...)
	dst = append(dst, 1) // one PPS
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(pps)))
	dst = append(dst, pps...)
	return dst, nil
}

// appendAVCNALUs appends a video tag with the access unit's NAL units in
// AVCC form (4-byte lengths). Parameter sets and delimiters stay out: they
// travel in the sequence header. cts is the composition time offset (PTS
// minus DTS) in milliseconds.
func appendAVCNALUs(dst []byte, nalus [][]byte, key bool, cts int32) []byte {
	frame := byte(flvInterframe)
	if key {
		frame = flvKeyframe
	}
	dst = append(dst, frame|flvCodecAVC, avcNALU, byte(cts>>16), byte(cts>>8), byte(cts))
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeAccessUnitDelimiter:
			continue
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(n)))
		dst = append(dst, n...)
	}
	return dst
}

// appendAACSequenceHeader appends the audio tag carrying the
// AudioSpecificConfig.
func appendAACSequenceHeader(dst, asc []byte) []byte {
	dst = append(dst, flvAAC, aacSequenceHeader)
	return append(dst, asc...)
}

// appendAACFrame appends an audio tag with one raw AAC frame.
func appendAACFrame(dst, frame []byte) []byte {
	dst = append(dst, flvAAC, aacRaw)
	return append(dst, frame...)
}

// sameBytes reports whether the parameter sets changed.
func sameBytes(a, b []byte) bool { return bytes.Equal(a, b) }

package srt

import (
	"encoding/binary"
)

// tsMuxer writes MPEG-TS (ISO 13818-1) for one H.264 and one AAC track,
// straight into the packets it hands to out, without allocating.
//
// Why not mediacommon's mpegts.Writer, which the rest of this package's
// tests read with: it allocates on every access unit (Annex-B marshalling,
// astits' per-packet structs, about 8 allocations and 4 KB per unit), and
// the SRT path is the hot loop of a battery-powered device. This muxer
// writes only what a live SRT stream needs: PAT and PMT in front of every
// IDR, PES with PTS/DTS, PCR on the video PID, random-access flags.
type tsMuxer struct {
	out     func(pkt []byte) error // receives each 188-byte packet
	pkt     [tsPacket]byte
	ccPAT   uint8
	ccPMT   uint8
	ccVideo uint8
	ccAudio uint8
	pes     [32]byte                 // PES header scratch
	adts    [maxAudioBundle * 7]byte // ADTS headers scratch, one per frame of a PES
	pieces  [][]byte                 // payload pieces of the current PES, reused
	aacConf aacConfig                // ADTS fields from the AudioSpecificConfig
}

const (
	pidPAT   = 0x0000
	pidPMT   = 0x1000
	pidVideo = 0x0100
	pidAudio = 0x0101

	streamTypeH264 = 0x1b
	streamTypeAAC  = 0x0f // ADTS

	// pcrBehind keeps the PCR 100 ms behind the DTS, the decoder's margin.
	pcrBehind = 9000
)

// aacConfig is what an ADTS header repeats from the AudioSpecificConfig.
type aacConfig struct {
	objectType, freqIndex, channels byte
}

func parseASC(asc []byte) (aacConfig, bool) {
	if len(asc) < 2 {
		return aacConfig{}, false
	}
	c := aacConfig{
		objectType: asc[0] >> 3,
		freqIndex:  (asc[0]&7)<<1 | asc[1]>>7,
		channels:   (asc[1] >> 3) & 0xf,
	}
	return c, c.objectType > 0 && c.objectType < 5 && c.freqIndex < 13 && c.channels > 0 && c.channels < 8
}

var audBytes = []byte{0x09, 0xf0} // access unit delimiter, any slice type
var startCode = []byte{0, 0, 0, 1}

// writeTables writes PAT and PMT.
func (m *tsMuxer) writeTables() error {
	// PAT: program 1 -> PMT PID.
	var sec [12]byte                       // table_id 0; length filled by writeSection
	binary.BigEndian.PutUint16(sec[3:], 1) // transport_stream_id
	sec[5] = 0xc1                          // version 0, current_next
	binary.BigEndian.PutUint16(sec[8:], 1) // program_number
	binary.BigEndian.PutUint16(sec[10:], 0xe000|pidPMT)
	if err := m.writeSection(pidPAT, &m.ccPAT, sec[:]); err != nil {
		return err
	}
	// PMT: PCR on video; H.264 and AAC elementary streams.
	var pmt [22]byte
	pmt[0] = 0x02                          // table_id: program map
	binary.BigEndian.PutUint16(pmt[3:], 1) // program_number
	pmt[5] = 0xc1
	binary.BigEndian.PutUint16(pmt[8:], 0xe000|pidVideo) // PCR_PID
	binary.BigEndian.PutUint16(pmt[10:], 0xf000)         // program_info_length 0
	pmt[12] = streamTypeH264
	binary.BigEndian.PutUint16(pmt[13:], 0xe000|pidVideo)
	binary.BigEndian.PutUint16(pmt[15:], 0xf000)
	pmt[17] = streamTypeAAC
	binary.BigEndian.PutUint16(pmt[18:], 0xe000|pidAudio)
	binary.BigEndian.PutUint16(pmt[20:], 0xf000)
	return m.writeSection(pidPMT, &m.ccPMT, pmt[:])
}

// writeSection writes a PSI section (header without length) with its
// section_length and CRC filled in, in one packet.
func (m *tsMuxer) writeSection(pid uint16, cc *uint8, sec []byte) error {
	p := m.pkt[:]
	p[0] = 0x47
	binary.BigEndian.PutUint16(p[1:], 0x4000|pid) // payload_unit_start
	p[3] = 0x10 | *cc&0xf                         // payload only
	*cc++
	p[4] = 0 // pointer_field
	n := copy(p[5:], sec)
	// section_length counts from after the length field through the CRC.
	binary.BigEndian.PutUint16(p[6:], 0xb000|uint16(n-3+4))
	crc := crc32MPEG(p[5 : 5+n])
	binary.BigEndian.PutUint32(p[5+n:], crc)
	for i := 5 + n + 4; i < tsPacket; i++ {
		p[i] = 0xff
	}
	return m.out(p)
}

// putTimestamp writes a 33-bit PTS/DTS with its 4-bit prefix.
func putTimestamp(b []byte, prefix byte, ts int64) {
	b[0] = prefix<<4 | byte(ts>>29)&0x0e | 1
	binary.BigEndian.PutUint16(b[1:], uint16(ts>>14)|1)
	binary.BigEndian.PutUint16(b[3:], uint16(ts<<1)|1)
}

// writeVideo writes one H.264 access unit as a PES on the video PID.
func (m *tsMuxer) writeVideo(pts, dts int64, key bool, nalus [][]byte) error {
	if key {
		if err := m.writeTables(); err != nil {
			return err
		}
	}
	h := m.pes[:]
	h[0], h[1], h[2], h[3] = 0, 0, 1, 0xe0
	h[4], h[5] = 0, 0 // unbounded: video PES may exceed 64 KB
	h[6] = 0x84       // marker bits, data_alignment_indicator
	n := 9
	if pts == dts {
		h[7], h[8] = 0x80, 5
		putTimestamp(h[9:], 2, pts)
		n += 5
	} else {
		h[7], h[8] = 0xc0, 10
		putTimestamp(h[9:], 3, pts)
		putTimestamp(h[14:], 1, dts)
		n += 10
	}
	m.pieces = append(m.pieces[:0], h[:n], startCode, audBytes)
	for _, nal := range nalus {
		if len(nal) == 0 || nal[0]&0x1f == 9 {
			continue // we wrote our own delimiter
		}
		m.pieces = append(m.pieces, startCode, nal)
	}
	return m.writePES(pidVideo, &m.ccVideo, m.pieces, key, dts-pcrBehind, true)
}

// maxAudioBundle is the most AAC frames one PES carries (see muxer).
const maxAudioBundle = 4

// writeAudio writes raw AAC frames (at most maxAudioBundle, consecutive,
// the first at pts) as one PES, each frame behind its ADTS header, as
// ffmpeg does: one frame per PES costs a whole 188-byte packet for some 90
// bytes of audio at low bitrates.
func (m *tsMuxer) writeAudio(pts int64, frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	if len(frames) > maxAudioBundle {
		frames = frames[:maxAudioBundle]
	}
	c := m.aacConf
	size := 0
	for _, f := range frames {
		size += 7 + len(f)
	}
	h := m.pes[:]
	h[0], h[1], h[2], h[3] = 0, 0, 1, 0xc0
	binary.BigEndian.PutUint16(h[4:], uint16(3+5+size))
	h[6], h[7], h[8] = 0x84, 0x80, 5
	putTimestamp(h[9:], 2, pts)
	m.pieces = append(m.pieces[:0], h[:14])
	for n, f := range frames {
		l := 7 + len(f)
		a := m.adts[7*n : 7*n+7]
		a[0] = 0xff
		a[1] = 0xf1 // MPEG-4, no CRC
		a[2] = (c.objectType-1)<<6 | c.freqIndex<<2 | c.channels>>2
		a[3] = (c.channels&3)<<6 | byte(l>>11)
		a[4] = byte(l >> 3)
		a[5] = byte(l&7)<<5 | 0x1f // buffer fullness 0x7ff: VBR
		a[6] = 0xfc
		m.pieces = append(m.pieces, a, f)
	}
	return m.writePES(pidAudio, &m.ccAudio, m.pieces, true, 0, false)
}

// writePES splits a PES (given as pieces) into packets. The first packet
// carries the random access flag and, on video, the PCR; the last is padded
// with adaptation-field stuffing.
func (m *tsMuxer) writePES(pid uint16, cc *uint8, pieces [][]byte, randomAccess bool, pcr int64, withPCR bool) error {
	remaining := 0
	for _, p := range pieces {
		remaining += len(p)
	}
	pi, off := 0, 0 // position in pieces
	for first := true; remaining > 0; first = false {
		p := m.pkt[:]
		p[0] = 0x47
		start := uint16(0)
		if first {
			start = 0x4000 // payload_unit_start_indicator
		}
		binary.BigEndian.PutUint16(p[1:], start|pid)
		var flags byte
		flagsLen := 0
		if first && randomAccess {
			flags |= 0x40
		}
		if first && withPCR {
			flags |= 0x10
		}
		if flags != 0 {
			flagsLen = 1
			if flags&0x10 != 0 {
				flagsLen += 6
			}
		}
		afSize := 0 // adaptation field, length byte included
		if flagsLen > 0 {
			afSize = 1 + flagsLen
		}
		if remaining < tsPacket-4-afSize {
			afSize = tsPacket - 4 - remaining // stuff the last packet
		}
		if afSize > 0 {
			p[3] = 0x30 | *cc&0xf // adaptation field and payload
			p[4] = byte(afSize - 1)
			if afSize > 1 {
				p[5] = flags
				i := 6
				if flags&0x10 != 0 {
					base := max(pcr, 0)
					p[6] = byte(base >> 25)
					p[7] = byte(base >> 17)
					p[8] = byte(base >> 9)
					p[9] = byte(base >> 1)
					p[10] = byte(base<<7) | 0x7e
					p[11] = 0
					i = 12
				}
				for ; i < 4+afSize; i++ {
					p[i] = 0xff
				}
			}
		} else {
			p[3] = 0x10 | *cc&0xf // payload only
		}
		*cc++
		for w := 4 + afSize; w < tsPacket; {
			k := copy(p[w:], pieces[pi][off:])
			w += k
			off += k
			remaining -= k
			if off == len(pieces[pi]) {
				pi, off = pi+1, 0
			}
		}
		if err := m.out(p); err != nil {
			return err
		}
	}
	return nil
}

// crc32MPEG is the CRC-32/MPEG-2 of PSI sections (polynomial 0x04c11db7,
// no reflection, no final XOR).
func crc32MPEG(b []byte) uint32 {
	crc := uint32(0xffffffff)
	for _, v := range b {
		crc ^= uint32(v) << 24
		for i := 0; i < 8; i++ {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

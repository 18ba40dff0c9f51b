package whip

import "time"

// opusPacker joins consecutive Opus packets of one frame each into one
// packet of several frames (RFC 6716 section 3.2.5, code 3, VBR), so a
// congested link carries one RTP packet per 60 ms of audio instead of
// three. On a narrow uplink the per-packet cost is most of the audio's:
// at 32 kbit/s, 50 packets a second of IP, UDP, RTP, its extensions and
// SRTP's tag take some 30 kbit/s more (measured at the cut link: the
// audio was a third of a 210 kbit/s link). libwebrtc's audio network
// adaptor makes the same trade, 20 to 60 ms frames when bandwidth is low.
// Our Opus encoder codes 20 ms frames at most, so the frames are packed
// here rather than encoded long; a receiver decodes either (RFC 7587
// allows up to 120 ms per packet). Frames join only while their TOC
// configurations match and their PTS follow on; anything else flushes.
type opusPacker struct {
	toc    byte          // of the pending frames, code bits cleared
	frames [][]byte      // pending frames (without their TOC byte)
	pts    time.Duration // of the first pending frame
	out    []byte        // the packet built by flush
	keep   []byte        // pending frames' bytes, owned by the packer
}

// maxOpusPacket is the longest packet RFC 6716 allows: 120 ms.
const maxOpusPacket = 120 * time.Millisecond

// opusFrameDuration is a TOC byte's frame duration (RFC 6716 table 2).
func opusFrameDuration(toc byte) time.Duration {
	config := toc >> 3
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		return [4]time.Duration{10, 20, 40, 60}[config&3] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		return [2]time.Duration{10, 20}[config&1] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		return 2500 * time.Microsecond << (config & 3)
	}
}

// add takes one encoded packet at pts and, when it completes a packet of
// n frames (or cannot join the pending ones), hands emit the packets to
// send with their PTS, oldest first; a payload is valid during the call
// only. n <= 1 sends every packet as it is.
func (o *opusPacker) add(pkt []byte, pts time.Duration, n int, emit func(payload []byte, pts time.Duration) error) error {
	if len(pkt) < 2 || pkt[0]&3 != 0 || n <= 1 {
		// Not a one-frame packet (or packing is off): as it is, after
		// what is pending.
		if err := o.flush(emit); err != nil {
			return err
		}
		return emit(pkt, pts)
	}
	d := opusFrameDuration(pkt[0])
	if len(o.frames) > 0 {
		// Where the next frame must be to join: right after the pending.
		drift := pts - (o.pts + time.Duration(len(o.frames))*d)
		if pkt[0] != o.toc || drift < -d/2 || drift > d/2 {
			if err := o.flush(emit); err != nil {
				return err
			}
		}
	}
	if len(o.frames) == 0 {
		o.toc, o.pts, o.keep = pkt[0], pts, o.keep[:0]
	}
	// Copied: the caller's packet is not ours to keep.
	start := len(o.keep)
	o.keep = append(o.keep, pkt[1:]...)
	o.frames = append(o.frames, o.keep[start:len(o.keep):len(o.keep)])
	if len(o.frames) >= n || time.Duration(len(o.frames)+1)*d > maxOpusPacket {
		return o.flush(emit)
	}
	return nil
}

// flush sends what is pending: one frame as the code-0 packet it came as,
// more as one code-3 packet.
func (o *opusPacker) flush(emit func(payload []byte, pts time.Duration) error) error {
	if len(o.frames) == 0 {
		return nil
	}
	o.out = o.out[:0]
	if len(o.frames) == 1 {
		o.out = append(append(o.out, o.toc), o.frames[0]...)
	} else {
		// TOC with code 3, then the frame count byte (VBR flag, no
		// padding), the lengths of all frames but the last, the frames.
		o.out = append(o.out, o.toc|3, 0x80|byte(len(o.frames)))
		for _, f := range o.frames[:len(o.frames)-1] {
			o.out = appendOpusLength(o.out, len(f))
		}
		for _, f := range o.frames {
			o.out = append(o.out, f...)
		}
	}
	o.frames = o.frames[:0]
	return emit(o.out, o.pts)
}

// appendOpusLength codes a frame length as RFC 6716 section 3.2.1 does:
// one byte below 252, else two (252 + n%4, then (n-252-n%4)/4).
func appendOpusLength(b []byte, n int) []byte {
	if n < 252 {
		return append(b, byte(n))
	}
	first := 252 + n&3
	return append(b, byte(first), byte((n-first)>>2))
}

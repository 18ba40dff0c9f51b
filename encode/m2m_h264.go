package encode

// h264State remembers the parameter sets so that every IDR access unit
// carries them, as VideoEncoder promises, even from an encoder that sends
// them only once (REPEAT_SEQ_HEADER unsupported).
type h264State struct {
	sps, pps []byte
}

// splitAnnexB returns the NAL units of an Annex B stream (start codes of
// three or four bytes), without the start codes.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 { // four-byte start code
					end--
				}
				out = append(out, b[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// unit turns one coded buffer into NAL units we own, reporting whether it
// holds an IDR; an IDR without SPS/PPS gets the last ones seen in front.
func (s *h264State) unit(data []byte) ([][]byte, bool) {
	var nalus [][]byte
	idr, hasSPS := false, false
	for _, n := range splitAnnexB(data) {
		if len(n) == 0 {
			continue
		}
		n = append([]byte(nil), n...)
		switch n[0] & 0x1f {
		case 5:
			idr = true
		case 7:
			s.sps, hasSPS = n, true
		case 8:
			s.pps = n
		}
		nalus = append(nalus, n)
	}
	if idr && !hasSPS && s.sps != nil && s.pps != nil {
		nalus = append([][]byte{s.sps, s.pps}, nalus...)
	}
	return nalus, idr
}

// h264Level picks the lowest level (V4L2's enum) whose macroblock rate
// covers the stream: 3.1 for 720p30, 4.0 for 1080p30.
func h264Level(w, h, fps int) int {
	mbs := ((w + 15) / 16) * ((h + 15) / 16)
	rate := mbs * fps
	for _, l := range []struct{ v4l2, frame, rate int }{
		{8, 1620, 40500},   // 3.0
		{9, 3600, 108000},  // 3.1
		{10, 5120, 216000}, // 3.2
		{11, 8192, 245760}, // 4.0
		{13, 8704, 522240}, // 4.2
		{14, 22080, 589824},
	} {
		if mbs <= l.frame && rate <= l.rate {
			return l.v4l2
		}
	}
	return 15 // 5.1
}

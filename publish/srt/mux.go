package srt

import (
	"fmt"
	"time"

	"github.com/glassagent/glassagent/media"
)

// tsOffset keeps 90 kHz timestamps positive: the PCR runs a little behind
// the DTS, and AAC's priming frame is stamped before the first picture.
const tsOffset = 2 * 90000

// muxer turns access units into MPEG-TS (tsMuxer) and cuts the TS packets
// into SRT messages of payload bytes.
type muxer struct {
	ts         tsMuxer
	video      media.VideoParams
	out        *messageWriter
	started    bool
	t0         time.Duration // PTS of the first IDR: time zero on the wire
	nalus      [][]byte      // reused when SPS/PPS have to be prepended
	frameTicks int64         // one AAC frame in 90 kHz ticks

	// Audio waiting to go out in one PES: consecutive AAC frames (copies
	// in abuf, so the units need not outlive write), the first at aPTS.
	// They go out when maxAudioBundle are there, before the next video
	// frame, or at a gap: audio waits at most one video frame interval
	// (33 ms at 30 fps) or four AAC frames, and MPEG-TS spends a 188-byte
	// packet per PES instead of per frame. At 32 kbit/s AAC that is 70
	// kbit/s of TS for 47 frames a second one by one, about 45 bundled,
	// and a third of the SRT packets: what matters on a link cut to a
	// few hundred kbit/s.
	abuf   []byte
	aends  [maxAudioBundle]int
	aslice [maxAudioBundle][]byte
	aN     int
	aPTS   int64
}

func newMuxer(v media.VideoParams, a media.AudioParams, payload int, send func([]byte) error) (*muxer, error) {
	conf, ok := parseASC(a.Config)
	if !ok {
		return nil, fmt.Errorf("AAC AudioSpecificConfig % x is not one ADTS can carry", a.Config)
	}
	m := &muxer{
		video:      v,
		out:        &messageWriter{payload: payload, send: send, buf: make([]byte, 0, payload)},
		frameTicks: int64(max(a.FrameSamples, 1024)) * 90000 / int64(max(a.SampleRate, 1)),
	}
	m.ts.aacConf = conf
	m.ts.out = func(pkt []byte) error {
		_, err := m.out.Write(pkt)
		return err
	}
	return m, nil
}

func ticks(d time.Duration) int64 { return int64(d) * 90000 / int64(time.Second) }

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// writeAudio writes the audio waiting, if any, as one PES.
func (m *muxer) writeAudio() error {
	if m.aN == 0 {
		return nil
	}
	start := 0
	for i := 0; i < m.aN; i++ {
		m.aslice[i] = m.abuf[start:m.aends[i]]
		start = m.aends[i]
	}
	n := m.aN
	m.aN = 0
	return m.ts.writeAudio(m.aPTS, m.aslice[:n])
}

// finish writes the audio still waiting and sends what is muxed: the end
// of the stream.
func (m *muxer) finish() error {
	if err := m.writeAudio(); err != nil {
		return err
	}
	return m.out.flush()
}

// write muxes one access unit. Nothing goes out before the first IDR, so a
// receiver starts on a picture it can decode, with audio from the same
// instant. flush sends a partly filled message at once (the queue is empty,
// so waiting for more would only add latency).
func (m *muxer) write(au *media.AccessUnit, flush bool) error {
	if !m.started {
		if !au.Codec.IsVideo() || !au.Key {
			return nil
		}
		m.started = true
		m.t0 = au.DTS
	}
	var err error
	switch au.Codec {
	case media.CodecH264:
		if err := m.writeAudio(); err != nil {
			return err
		}
		nalus := au.NALUs
		if sps, _ := media.ParameterSets(nalus); au.Key && sps == nil && m.video.SPS != nil {
			// Our encoders put SPS/PPS in front of every IDR; a receiver
			// that joins here needs them, so make sure.
			m.nalus = append(m.nalus[:0], m.video.SPS, m.video.PPS)
			nalus = append(m.nalus, nalus...)
		}
		err = m.ts.writeVideo(ticks(au.PTS-m.t0)+tsOffset, ticks(au.DTS-m.t0)+tsOffset, au.Key, nalus)
	case media.CodecAAC:
		if au.PTS < m.t0-time.Second {
			return nil // stale audio from before the stream started
		}
		pts := ticks(au.PTS-m.t0) + tsOffset
		for _, f := range au.NALUs {
			if m.aN > 0 && abs64(pts-(m.aPTS+int64(m.aN)*m.frameTicks)) > m.frameTicks/2 {
				// Not the next frame (a gap, or a resampled clock): the
				// PES's PTS would misplace it.
				if err = m.writeAudio(); err != nil {
					return err
				}
			}
			if m.aN == 0 {
				m.aPTS, m.abuf = pts, m.abuf[:0]
			}
			m.abuf = append(m.abuf, f...)
			m.aends[m.aN] = len(m.abuf)
			m.aN++
			pts += m.frameTicks
			if m.aN == maxAudioBundle {
				if err = m.writeAudio(); err != nil {
					return err
				}
			}
		}
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if flush || au.Key && au.Codec.IsVideo() {
		return m.out.flush()
	}
	return nil
}

// messageWriter collects TS packets and sends them payload bytes at a time
// (7 x 188 = 1316 by default), one SRT message each.
type messageWriter struct {
	payload int
	send    func([]byte) error
	buf     []byte
	err     error
}

func (w *messageWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):w.payload], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		if len(w.buf) == w.payload {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *messageWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	w.err = w.send(w.buf)
	w.buf = w.buf[:0]
	return w.err
}

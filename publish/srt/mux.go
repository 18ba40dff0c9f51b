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
		err = m.ts.writeAudio(ticks(au.PTS-m.t0)+tsOffset, au.NALUs, m.frameTicks)
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

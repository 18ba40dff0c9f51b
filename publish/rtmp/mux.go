//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"time"

	"github.com/glassagent/glassagent/media"
)

// tag is one FLV tag body ready to go out as an RTMP message.
type tag struct {
	video bool
	ts    uint32 // ms since the first keyframe
	body  []byte // valid until the next muxer call
}

// muxer turns the pipeline's access units into FLV tags: it starts the
// stream on the first video keyframe (audio and video together, at 0 ms),
// puts one clock under both tracks, and emits a new AVC sequence header
// whenever the encoder's SPS/PPS change. It keeps no reference to the units
// and, once its buffers have grown, allocates nothing per unit. Kept apart
// from the connection so it can be tested and measured on its own.
type muxer struct {
	video media.VideoParams

	started  bool
	t0       time.Duration
	sentHdr  bool
	sps, pps []byte // the parameter sets of the last sequence header sent

	hdr, body []byte // tag buffers, reused
	tags      [2]tag
}

// push returns the tags for au (none, one, or a sequence header and a
// frame). The slice and the bodies are valid until the next call.
func (m *muxer) push(au *media.AccessUnit) ([]tag, error) {
	if !m.started {
		// Start on a keyframe, so the first thing a viewer gets decodes.
		if au.Codec != media.CodecH264 || !au.Key {
			return nil, nil
		}
		m.started, m.t0 = true, au.DTS
	}
	n := 0
	switch au.Codec {
	case media.CodecH264:
		ts := ms(au.DTS - m.t0)
		if au.Key {
			sps, pps := media.ParameterSets(au.NALUs)
			if sps == nil {
				sps, pps = m.video.SPS, m.video.PPS
			}
			if !m.sentHdr || !sameBytes(sps, m.sps) || !sameBytes(pps, m.pps) {
				// First keyframe, or the encoder changed its parameters
				// (size, profile, level): decoders need the new record
				// before this frame.
				var err error
				m.hdr, err = appendAVCSequenceHeader(m.hdr[:0], sps, pps)
				if err != nil {
					return nil, media.Wrap(media.CodeEncoderFailed, err)
				}
				m.sps, m.pps = append(m.sps[:0], sps...), append(m.pps[:0], pps...)
				m.sentHdr = true
				m.tags[n] = tag{video: true, ts: ts, body: m.hdr}
				n++
			}
		}
		m.body = appendAVCNALUs(m.body[:0], au.NALUs, au.Key, int32(ms(au.PTS-au.DTS)))
		m.tags[n] = tag{video: true, ts: ts, body: m.body}
		n++
	case media.CodecAAC:
		// Units are interleaved by DTS, so audio captured just before the
		// first keyframe may follow it: it has no place on the clock.
		if au.PTS < m.t0 || len(au.NALUs) == 0 {
			return nil, nil
		}
		m.body = appendAACFrame(m.body[:0], au.NALUs[0])
		m.tags[n] = tag{ts: ms(au.PTS - m.t0), body: m.body}
		n++
	}
	return m.tags[:n], nil
}

// ms converts pipeline time to FLV's millisecond timestamps.
func ms(d time.Duration) uint32 { return uint32(d / time.Millisecond) }

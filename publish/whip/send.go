package whip

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/publish/pace"
)

// rtpPayloadMTU leaves room in a 1200-byte datagram (what pion's sample
// tracks use, safe on every path) for the RTP header; the TWCC extension
// and SRTP's tag fit in what remains below 1280.
const rtpPayloadMTU = 1200 - 12

// rtpStream numbers and stamps one track's packets. Timestamps come from
// the access units' PTS (one pipeline clock for both tracks), so audio and
// video keep their relation through queue drops and encoder hiccups, which
// a sample track's duration sums would not.
type rtpStream struct {
	track *webrtc.TrackLocalStaticRTP
	rate  int64 // clock rate
	seq   uint16
	base  uint32
}

func newRTPStream(track *webrtc.TrackLocalStaticRTP, rate int) *rtpStream {
	// Random starts, as RFC 3550 asks, so a restarted stream is not taken
	// for the old one.
	return &rtpStream{track: track, rate: int64(rate), seq: uint16(rand.Uint32()), base: rand.Uint32()}
}

func (s *rtpStream) timestamp(pts time.Duration) uint32 {
	return s.base + uint32(int64(pts)*s.rate/int64(time.Second))
}

// write sends the payloads of one access unit, the marker on the last;
// pace, when set, is called before each packet with its size and may hold
// it back. It returns the bytes put on the wire (RTP headers included).
func (s *rtpStream) write(payloads [][]byte, pts time.Duration, marker bool, pace func(int) error) (int, error) {
	n := 0
	ts := s.timestamp(pts)
	for i, pl := range payloads {
		if pace != nil {
			if err := pace(12 + len(pl)); err != nil {
				return n, err
			}
		}
		pkt := &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         marker && i == len(payloads)-1,
				SequenceNumber: s.seq,
				Timestamp:      ts,
			},
			Payload: pl,
		}
		s.seq++
		if err := s.track.WriteRTP(pkt); err != nil {
			return n, err
		}
		n += 12 + len(pl)
	}
	return n, nil
}

// sender turns access units into RTP.
type sender struct {
	p            *Publisher
	in           publish.Input
	video, audio *rtpStream
	h264         codecs.H264Payloader
	annexB       []byte
	started      bool
	opus         opusPacker
	one          [1][]byte
	pacer        pace.Pacer
	pace         func(int) error
}

// appendAnnexB appends the NAL units with start codes; the H.264
// payloader splits on them.
func appendAnnexB(dst []byte, nalus [][]byte) []byte {
	for _, n := range nalus {
		dst = append(dst, 0, 0, 0, 1)
		dst = append(dst, n...)
	}
	return dst
}

// writeVideo packetizes one H.264 access unit (FU-A for large NAL units,
// SPS and PPS aggregated in a STAP-A).
func (s *sender) writeVideo(au *media.AccessUnit) error {
	s.annexB = s.annexB[:0]
	if sps, _ := media.ParameterSets(au.NALUs); au.Key && sps == nil && len(s.in.Video.SPS) > 0 && len(s.in.Video.PPS) > 0 {
		// Encoders put SPS/PPS in front of every IDR; if one did not, a
		// receiver joining here could not decode, so send them from the
		// track parameters.
		s.annexB = appendAnnexB(s.annexB, [][]byte{s.in.Video.SPS, s.in.Video.PPS})
	}
	s.annexB = appendAnnexB(s.annexB, au.NALUs)
	payloads := s.h264.Payload(rtpPayloadMTU, s.annexB)
	if len(payloads) == 0 {
		// Parameter sets only: the payloader keeps them, as slices of our
		// buffer, for the next picture; let that buffer go.
		s.annexB = nil
		return nil
	}
	n, err := s.video.write(payloads, au.PTS, true, s.pace)
	s.p.sent(n, len(payloads))
	if err != nil {
		return err
	}
	s.p.vframes.Add(1)
	return nil
}

// writeAudio sends one Opus packet, or holds it to go with the next ones
// in one packet while congestion control's target is low (opuspack.go).
func (s *sender) writeAudio(au *media.AccessUnit) error {
	if len(au.NALUs) == 0 || len(au.NALUs[0]) == 0 {
		return nil
	}
	s.p.aframes.Add(1)
	return s.opus.add(au.NALUs[0], au.PTS, int(s.p.audioPack.Load()), s.emitAudio)
}

func (s *sender) emitAudio(payload []byte, pts time.Duration) error {
	s.one[0] = payload
	// Audio is not held back (a late audio packet is heard; a video
	// packet late by a few ms is not seen), but takes its share of the
	// pacing budget.
	s.pacer.Charge(time.Now(), 12+len(payload), s.p.pacingRate())
	n, err := s.audio.write(s.one[:], pts, false, nil)
	s.p.sent(n, 1)
	return err
}

// run writes access units until the queue closes or ctx ends. The stream
// starts on a keyframe; audio before it is dropped too, so the receiver's
// first media is decodable and in sync.
func (s *sender) run(ctx context.Context) error {
	s.pace = func(size int) error { return s.pacer.Wait(ctx, size, s.p.pacingRate()) }
	for {
		au, err := s.in.Queue.Pop(ctx)
		if err != nil {
			if errors.Is(err, media.ErrQueueClosed) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !s.started {
			if !au.Codec.IsVideo() || !au.Key {
				continue
			}
			s.started = true
		}
		switch au.Codec {
		case media.CodecH264:
			err = s.writeVideo(au)
		case media.CodecOpus:
			err = s.writeAudio(au)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return media.Errorf(media.CodeConnectionLost, "WebRTC write to %s: %v", s.p.shown, err)
		}
	}
}

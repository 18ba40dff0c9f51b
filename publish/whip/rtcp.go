package whip

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/glassagent/glassagent/publish"
)

// readRTCP answers PLI and FIR with a keyframe, at most one per
// KeyframeInterval: a receiver repeats its request every RTT until a
// keyframe arrives, and an encoder asked each time would send nothing but
// keyframes. Reading also keeps the interceptors (NACK responder, TWCC,
// receiver reports) fed; it ends when the connection closes.
func (p *Publisher) readRTCP(s *webrtc.RTPSender, enc publish.EncoderControl) {
	var last time.Time
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.keyReqs.Add(1)
				if enc != nil && time.Since(last) >= p.KeyframeInterval {
					last = time.Now()
					enc.ForceKeyframe()
				}
			}
		}
	}
}

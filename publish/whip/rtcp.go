package whip

import (
	"time"

	"github.com/pion/interceptor"
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

// seeRTCP wraps an interceptor's RTCP reader so that see gets each batch
// read, parsed (the parse is kept in the attributes, so the interceptors
// after it do not parse again, and see may change the packets they get).
// A batch that does not parse is passed on: not ours to judge, the next
// reader sees the same.
func seeRTCP(reader interceptor.RTCPReader, see func([]rtcp.Packet)) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = interceptor.Attributes{}
		}
		if pkts, err := attr.GetRTCPPackets(b[:n]); err == nil {
			see(pkts)
		}
		return n, attr, nil
	})
}

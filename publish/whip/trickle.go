package whip

import (
	"context"
	"strings"
)

// Trickle ICE, RFC 9725 section 4.3.1 and RFC 8840.
//
// The approach: after SetLocalDescription we wait for candidate gathering to
// complete, but at most gatherWait (1 s). Host candidates are ready at once,
// so on a LAN or with a reachable STUN/TURN server the offer carries every
// candidate (full gathering, which works with every endpoint). Whether the
// endpoint takes trickle PATCHes is only known from its answer (an ETag);
// when it does, candidates that came after the offer (a slow or unreachable
// STUN/TURN server) are sent in PATCHes with If-Match, ending with
// a=end-of-candidates. When it does not, they are dropped: the offer's
// candidates are all the endpoint gets.

// trickleEnd marks the end of gathering on the late-candidate channel.
const trickleEnd = ""

// fragHeader is what every trickle fragment repeats of the offer: the ICE
// credentials and the first (bundled) media section with its mid.
type fragHeader struct {
	ufrag, pwd, mline, mid string
}

// parseFragHeader takes the ICE credentials and the first m-line's mid from
// an SDP. Session-level credentials count for every media section.
func parseFragHeader(sdp string) fragHeader {
	var h fragHeader
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "m="):
			if h.mline == "" {
				h.mline = line
			} else if h.mid != "" {
				return h // past the first media section
			}
		case strings.HasPrefix(line, "a=ice-ufrag:") && h.ufrag == "":
			h.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:") && h.pwd == "":
			h.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=mid:") && h.mline != "" && h.mid == "":
			h.mid = strings.TrimPrefix(line, "a=mid:")
		}
	}
	return h
}

// fragment is an application/trickle-ice-sdpfrag body carrying one
// candidate (an a=candidate value without "a="), or the end of candidates
// when candidate is trickleEnd.
func (h fragHeader) fragment(candidate string) string {
	var b strings.Builder
	b.WriteString("a=ice-ufrag:" + h.ufrag + "\r\n")
	b.WriteString("a=ice-pwd:" + h.pwd + "\r\n")
	b.WriteString(h.mline + "\r\n")
	b.WriteString("a=mid:" + h.mid + "\r\n")
	if candidate == trickleEnd {
		b.WriteString("a=end-of-candidates\r\n")
	} else {
		b.WriteString("a=" + candidate + "\r\n")
	}
	return b.String()
}

// trickle sends late candidates in PATCHes with the session's ETag until
// gathering ends, ctx ends, or the endpoint refuses one (it may support
// PATCH only for ICE restarts; the offer's candidates still stand).
func (p *Publisher) trickle(ctx context.Context, s *session, h fragHeader, late <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-late:
			if err := p.patch(ctx, s, h.fragment(c)); err != nil || c == trickleEnd {
				return
			}
		}
	}
}

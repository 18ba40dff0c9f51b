package whip

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// parseICEServers reads the Link headers of a WHIP response (RFC 9725
// section 4.6): each `<URL>; rel="ice-server"` names a STUN or TURN server,
// with `username` and `credential` parameters for TURN. Links of other
// relations are ignored, and so are malformed entries: a server's broken
// hint must not stop a publish that may work without it.
func parseICEServers(headers []string) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, h := range headers {
		for _, link := range splitLinks(h) {
			link = strings.TrimSpace(link)
			if !strings.HasPrefix(link, "<") {
				continue
			}
			end := strings.IndexByte(link, '>')
			if end < 0 {
				continue
			}
			u := link[1:end]
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") &&
				!strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				continue
			}
			params := map[string]string{}
			for _, p := range splitOutsideQuotes(link[end+1:], ';') {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok {
					continue
				}
				params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
			}
			if !strings.EqualFold(params["rel"], "ice-server") {
				continue
			}
			s := webrtc.ICEServer{URLs: []string{u}}
			if params["username"] != "" || params["credential"] != "" {
				s.Username = params["username"]
				s.Credential = params["credential"]
				s.CredentialType = webrtc.ICECredentialTypePassword
			}
			out = append(out, s)
		}
	}
	return out
}

// splitOutsideQuotes splits s on sep where sep is not inside a quoted
// string: TURN credentials may hold ';' or ','.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case sep:
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// splitLinks splits a Link header on the commas between links, not those
// inside quoted parameters or <...>.
func splitLinks(h string) []string {
	var out []string
	start, inQuote, inAngle := 0, false, false
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '"':
			inQuote = !inQuote
		case '<':
			if !inQuote {
				inAngle = true
			}
		case '>':
			if !inQuote {
				inAngle = false
			}
		case ',':
			if !inQuote && !inAngle {
				out = append(out, h[start:i])
				start = i + 1
			}
		}
	}
	return append(out, h[start:])
}

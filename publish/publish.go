// Package publish defines what a publisher is and picks one by URL scheme.
// Each scheme lives in its own subpackage (srt, rtmp, whip); they import this
// package for the shared contract, never each other.
package publish

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/glassagent/glassagent/media"
)

// Publisher sends one stream to one destination.
//
// The contract is deliberately small, as in mediamtx's forward destinations:
// Run connects, sends until the context ends or the connection fails, and
// returns. Reconnecting is the caller's policy (control), not the protocol's.
type Publisher interface {
	// AudioCodec is the audio codec the protocol carries (AAC for SRT and
	// RTMP, Opus for WHIP); the pipeline builds the matching encoder.
	AudioCodec() media.Codec
	// Run blocks until ctx ends (returning nil after a clean teardown) or
	// the connection fails (returning an error with a media.Code). It calls
	// in.OnConnected once the far end accepted the stream.
	Run(ctx context.Context, in Input) error
	// Stats may be called from any goroutine at any time.
	Stats() Stats
}

// Input is what a publisher reads and whom it tells.
type Input struct {
	Video media.VideoParams
	Audio media.AudioParams
	// Queue carries the access units, video and audio interleaved in DTS
	// order as the encoders produced them.
	Queue *media.Queue
	// Encoder lets the transport steer the video encoder: a PLI asks for a
	// keyframe, congestion control sets the bitrate. May be nil.
	Encoder EncoderControl
	// OnConnected is called once, when media may flow. May be nil.
	OnConnected func()
}

// EncoderControl is the part of the video encoder a transport may drive.
type EncoderControl interface {
	ForceKeyframe()
	SetBitrate(bps int) error
}

// Stats is a transport's view of the stream.
type Stats struct {
	BytesSent   uint64
	PacketsSent uint64
	// Bitrate is the measured send rate over the last second, bit/s.
	Bitrate int
	// TargetBitrate is what congestion control asks for, bit/s (0: none).
	TargetBitrate int
	RTT           time.Duration
	// Loss is the fraction of packets lost (0..1) over the last interval.
	Loss        float64
	Retransmits uint64
	VideoFrames uint64
	AudioFrames uint64
	// WriteLatency is the time the last socket write took (RTMP) or the
	// send buffer in time (SRT).
	WriteLatency time.Duration
	// MaxWriteLatency is the longest single write so far (RTMP): how long
	// the server or the network held the sender back at worst.
	MaxWriteLatency time.Duration
	// SendBuffer is the amount of data waiting in the transport, in time
	// (SRT: its send buffer; RTMP: the TCP socket's, unsent and
	// unacknowledged, at the path's delivery rate).
	SendBuffer time.Duration
	// KeyframeRequests counts the keyframes the far end asked for (WHIP:
	// PLI and FIR).
	KeyframeRequests uint64
	// ReceiveRate is the rate the receiver reports receiving, bit/s (SRT:
	// the receiving rate in its ACKs; RTMP: the kernel's TCP delivery
	// rate, when not limited by what we sent); 0 unknown. On a full link it is
	// what the path carries, known a round trip after the link filled.
	ReceiveRate int
	// Silence is how long nothing has come back from the receiver while
	// data went out (SRT: no ACK that moved on, no NAK); 0 while it
	// answers, or unknown. A link
	// that only got slow still acknowledges what gets through; silence is
	// an outage, which no bitrate fixes.
	Silence time.Duration
}

// Config carries settings that are not in the URL.
type Config struct {
	// CAFile is an extra PEM CA bundle for TLS (rtmps, https WHIP).
	CAFile string
	// BearerToken for WHIP, read from a file by the caller.
	BearerToken string
	// ConnectTimeout bounds connection set-up. Default 10 s.
	ConnectTimeout time.Duration
}

// Factory makes a publisher for a parsed URL. It validates everything it can
// (query keys, values) and returns a *media.Error with CodeInvalidURL before
// any connection is tried.
type Factory func(u *url.URL, cfg Config) (Publisher, error)

// Schemes maps URL schemes to factories. The caller assembles it from the
// subpackages it links in; there is no global registry.
type Schemes map[string]Factory

// New parses rawURL and builds the publisher for its scheme.
func (s Schemes) New(rawURL string, cfg Config) (Publisher, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, secrets included: say only why.
		var ue *url.Error
		msg := "malformed URL"
		if ok := asURLError(err, &ue); ok {
			msg = "malformed URL: " + ue.Err.Error()
		}
		return nil, &media.Error{Code: media.CodeInvalidURL, Msg: msg}
	}
	if u.Scheme == "" {
		return nil, &media.Error{Code: media.CodeInvalidURL, Msg: "URL has no scheme (want srt://, rtmp://, rtmps:// or https://)"}
	}
	f, ok := s[strings.ToLower(u.Scheme)]
	if !ok {
		return nil, &media.Error{Code: media.CodeUnsupportedScheme, Msg: "unsupported URL scheme " + strconvQuote(u.Scheme) + " (supported: " + s.list() + ")"}
	}
	if u.Host == "" {
		return nil, &media.Error{Code: media.CodeInvalidURL, Msg: "URL has no host"}
	}
	return f(u, cfg)
}

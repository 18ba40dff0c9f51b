// Package srt publishes MPEG-TS over SRT in caller mode with datarhei/gosrt,
// muxed with bluenviron/mediacommon.
package srt

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/glassagent/glassagent/media"
)

// tsPacket is the MPEG-TS packet size; SRT messages carry whole packets.
const (
	tsPacket       = 188
	defaultPayload = 7 * tsPacket // 1316: what every SRT/TS tool sends
)

// options is what a srt:// URL asks for, checked.
type options struct {
	addr           string
	latency        time.Duration
	passphrase     string
	pbkeylen       int
	streamID       string
	connectTimeout time.Duration
	payloadSize    int
	maxBW          int64 // bytes/s, 0 = relative to input rate (gosrt default)
}

// parseURL validates a srt:// URL the way ffmpeg and srt-live-transmit read
// it. gosrt's own parser drops values it cannot parse without a word, so
// every key is checked here first, and an unknown key is an error: a typo in
// "passphrase" must not silently send in the clear.
//
// Errors never repeat the passphrase.
func parseURL(u *url.URL) (options, error) {
	bad := func(format string, args ...any) (options, error) {
		return options{}, media.Errorf(media.CodeInvalidURL, "srt URL: "+format, args...)
	}
	if u.Scheme != "srt" {
		return bad("scheme %q, want srt", u.Scheme)
	}
	if u.User != nil {
		return bad("user info is not part of an SRT URL (use passphrase= or streamid=)")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return bad("no host")
	}
	if port == "" {
		return bad("no port (srt://HOST:PORT)")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return bad("port %q: must be 1 to 65535", port)
	}
	if u.Path != "" && u.Path != "/" {
		return bad("path %q: SRT has no path; put the stream name in streamid=", u.Path)
	}
	rawQuery := u.RawQuery
	if u.Fragment != "" || u.RawFragment != "" {
		// "streamid=#!::r=live,m=publish&passphrase=..." is how people
		// write it for ffmpeg, with the '#' unescaped: Go's parser takes
		// the rest as a fragment, and the passphrase after it would be
		// silently lost. Put it back into the query.
		rawQuery += "#" + u.EscapedFragment()
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return bad("malformed query")
	}
	o := options{
		addr:           net.JoinHostPort(host, port),
		latency:        120 * time.Millisecond,
		connectTimeout: 3 * time.Second,
		payloadSize:    defaultPayload,
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return bad("%s is given %d times", key, len(vals))
		}
		v := vals[0]
		switch strings.ToLower(key) {
		case "latency", "peerlatency", "rcvlatency":
			d, err := parseLatency(v)
			if err != nil {
				return bad("%s=%q: %v", key, v, err)
			}
			o.latency = d
		case "passphrase":
			if n := len(v); n < 10 || n > 79 {
				return bad("passphrase must be 10 to 79 characters (got %d)", n)
			}
			o.passphrase = v
		case "pbkeylen":
			n, err := strconv.Atoi(v)
			if err != nil || (n != 0 && n != 16 && n != 24 && n != 32) {
				return bad("pbkeylen=%q: must be 0, 16, 24 or 32", v)
			}
			o.pbkeylen = n
		case "streamid":
			if len(v) > 512 {
				return bad("streamid is %d bytes, at most 512", len(v))
			}
			o.streamID = v
		case "mode":
			if v != "caller" {
				return bad("mode=%q: glassagent publishes as the caller only (mode=caller)", v)
			}
		case "transtype":
			if v != "live" {
				return bad("transtype=%q: only live is supported", v)
			}
		case "connect_timeout", "conntimeo":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return bad("%s=%q: must be a positive number", key, v)
			}
			// ffmpeg's connect_timeout is in ms like srt's conntimeo.
			o.connectTimeout = time.Duration(n) * time.Millisecond
			if o.connectTimeout > time.Minute {
				return bad("%s=%q: at most 60000 ms", key, v)
			}
		case "payload_size", "pkt_size", "payloadsize":
			n, err := strconv.Atoi(v)
			if err != nil || n < tsPacket || n > 1456 || n%tsPacket != 0 {
				return bad("%s=%q: must be a multiple of 188 up to 1316 (MPEG-TS packets)", key, v)
			}
			o.payloadSize = n
		case "maxbw":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < -1 {
				return bad("maxbw=%q: must be -1, 0 or bytes per second", v)
			}
			o.maxBW = n
		default:
			return bad("unknown query key %q (known: latency, passphrase, pbkeylen, streamid, mode, transtype, connect_timeout, payload_size, maxbw)", key)
		}
	}
	if o.pbkeylen != 0 && o.passphrase == "" {
		return bad("pbkeylen needs a passphrase")
	}
	if o.passphrase != "" && o.pbkeylen == 0 {
		o.pbkeylen = 16
	}
	return o, nil
}

// parseLatency reads a latency in milliseconds, as srt-live-transmit does;
// a value of 10000 or more is taken as microseconds, ffmpeg's unit, since no
// SRT latency is ten seconds (URLs copied from ffmpeg say latency=200000).
func parseLatency(v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errNotNonNegative
	}
	d := time.Duration(n) * time.Millisecond
	if n >= 10000 {
		d = time.Duration(n) * time.Microsecond
	}
	if d > 8*time.Second {
		return 0, errLatencyRange
	}
	return d, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const (
	errNotNonNegative = constError("must be a non-negative integer")
	errLatencyRange   = constError("must be at most 8 s (8000 ms or 8000000 us)")
)

// config builds gosrt's configuration.
func (o options) config() gosrt.Config {
	c := gosrt.DefaultConfig()
	c.Latency = o.latency
	c.PeerLatency = o.latency
	c.ReceiverLatency = o.latency
	c.Passphrase = o.passphrase
	if o.pbkeylen != 0 {
		c.PBKeylen = o.pbkeylen
	}
	c.StreamId = o.streamID
	c.ConnectionTimeout = o.connectTimeout
	c.PayloadSize = uint32(o.payloadSize)
	if o.maxBW != 0 {
		c.MaxBW = o.maxBW
	}
	// A receiver that vanishes without a shutdown is noticed in seconds,
	// not gosrt's default.
	c.PeerIdleTimeout = 3 * time.Second
	return c
}

//go:build !arm && !386 && !mips && !mipsle

// Package rtmp publishes FLV over RTMP and RTMPS with yutopp/go-rtmp.
package rtmp

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/glassagent/glassagent/media"
)

// target is what an rtmp(s):// URL names.
type target struct {
	tls   bool
	addr  string // host:port
	host  string // for TLS verification
	app   string
	key   string // the stream key: a secret
	tcURL string // rtmp://host[:port]/app, what the server sees as the app URL
}

// parseURL splits rtmp[s]://host[:port]/app/key as OBS and ffmpeg do: the
// first path element is the application, everything after it, query string
// included, is the stream key (keys like "abc?token=x" or "live/abc" are
// common). Errors never contain the key.
func parseURL(u *url.URL) (target, error) {
	bad := func(msg string) (target, error) {
		return target{}, media.Errorf(media.CodeInvalidURL, "rtmp URL: %s", msg)
	}
	var t target
	switch strings.ToLower(u.Scheme) {
	case "rtmp":
	case "rtmps":
		t.tls = true
	default:
		return bad("scheme must be rtmp or rtmps")
	}
	if u.User != nil {
		return bad("user info in the URL is not supported (put credentials in the stream key)")
	}
	t.host = u.Hostname()
	if t.host == "" {
		return bad("no host")
	}
	port := u.Port()
	if port == "" {
		port = "1935"
		if t.tls {
			port = "443"
		}
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return bad("port must be 1 to 65535")
	}
	t.addr = net.JoinHostPort(t.host, port)
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	app, key, ok := strings.Cut(p, "/")
	if app == "" {
		return bad("no application (rtmp://HOST/APP/STREAMKEY)")
	}
	if !ok || key == "" {
		return bad("no stream key after the application (rtmp://HOST/APP/STREAMKEY)")
	}
	var err error
	if t.app, err = url.PathUnescape(app); err != nil {
		return bad("malformed application name")
	}
	if t.key, err = url.PathUnescape(key); err != nil {
		return bad("malformed stream key")
	}
	if u.RawQuery != "" {
		t.key += "?" + u.RawQuery
	}
	scheme := "rtmp"
	if t.tls {
		scheme = "rtmps"
	}
	t.tcURL = scheme + "://" + u.Host + "/" + t.app
	return t, nil
}

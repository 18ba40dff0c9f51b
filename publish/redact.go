package publish

import (
	"net/url"
	"strings"
)

// Redacted replaces secrets in a URL.
const Redacted = "REDACTED"

// secretQueryKeys are query parameters whose values are credentials.
var secretQueryKeys = map[string]bool{
	"passphrase": true, "password": true, "pass": true, "pwd": true,
	"token": true, "access_token": true, "auth": true, "key": true,
	"secret": true, "sig": true, "signature": true, "streamkey": true,
	"stream_key": true, "bearer": true,
}

// RedactURL returns rawURL with every secret replaced by Redacted: userinfo
// passwords, credential-like query values, and for rtmp/rtmps the stream key
// (the path after the app). Every URL that reaches a log line, an error or a
// status event goes through here. A URL that does not parse is replaced
// whole, since we cannot tell where its secret is.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Opaque != "" {
		return Redacted
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Redacted)
		} else {
			u.User = url.User(Redacted)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			if secretQueryKeys[strings.ToLower(k)] {
				for i := range vs {
					vs[i] = Redacted
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	switch strings.ToLower(u.Scheme) {
	case "rtmp", "rtmps":
		// rtmp://host/app/KEY: the first path element is the app, the rest
		// is the key (which may itself hold slashes or a query).
		p := strings.TrimPrefix(u.Path, "/")
		if i := strings.IndexByte(p, '/'); i >= 0 && i < len(p)-1 {
			u.Path = "/" + p[:i+1] + Redacted
			u.RawPath = ""
			u.RawQuery = ""
		}
	}
	s := u.String()
	// url.String escapes nothing in REDACTED, so the marker stays readable.
	return s
}

package publish

import (
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces secrets in a URL.
const Redacted = "REDACTED"

// secretPairs matches key=value pairs whose value is a credential, in a
// query or a fragment, up to the next separator.
const secretPairs = `(?i)((?:^|[&#?])(?:passphrase|password|pass|pwd|token|access_token|auth|key|secret|sig|signature|streamkey|stream_key|bearer)=)[^&#]*`

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
	// The query and the fragment are redacted as text, not re-encoded:
	// an unescaped '#' inside a query (SRT's "streamid=#!::r=...") starts
	// a fragment for Go's parser, and what follows it may hold secrets.
	re := regexp.MustCompile(secretPairs)
	u.RawQuery = re.ReplaceAllString(u.RawQuery, "${1}"+Redacted)
	if u.Fragment != "" {
		u.Fragment = re.ReplaceAllString(u.Fragment, "${1}"+Redacted)
		u.RawFragment = ""
	}
	switch strings.ToLower(u.Scheme) {
	case "rtmp", "rtmps":
		// rtmp://host/app/KEY: the first path element is the app, the rest
		// is the key (which may itself hold slashes or a query).
		p := strings.TrimPrefix(u.Path, "/")
		if i := strings.IndexByte(p, '/'); i >= 0 && i < len(p)-1 {
			u.Path = "/" + p[:i+1] + Redacted
			u.RawPath = ""
			u.RawQuery = "" // part of the key, as is a fragment
			u.Fragment, u.RawFragment = "", ""
		}
	}
	return u.String()
}

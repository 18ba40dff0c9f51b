package publish

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	const secret = "S3cretValue99"
	for _, raw := range []string{
		"srt://h:1?passphrase=" + secret,
		"srt://h:1?streamid=#!::r=a,m=publish&passphrase=" + secret,
		"srt://h:1?streamid=#!::r=a&passphrase=" + secret + "&latency=200",
		"rtmp://h/live/" + secret,
		"rtmps://h/app/" + secret + "?token=" + secret,
		"https://user:" + secret + "@h/whip",
		"https://h/whip?access_token=" + secret,
		"https://h/whip#token=" + secret,
		"::not a url " + secret,
	} {
		got := RedactURL(raw)
		if strings.Contains(got, secret) {
			t.Errorf("RedactURL(%q) = %q shows the secret", raw, got)
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("RedactURL(%q) = %q has no redaction marker", raw, got)
		}
	}
	if got := RedactURL("srt://h:1?latency=200&streamid=publish:cam"); got != "srt://h:1?latency=200&streamid=publish:cam" {
		t.Errorf("a URL without secrets changed: %q", got)
	}
}

func FuzzRedactURL(f *testing.F) {
	f.Add("#!::r=a,m=publish", "abcdefghij12")
	f.Add("publish:cam", ";0000000")
	f.Add("", "pw123456")
	f.Fuzz(func(t *testing.T, streamid, secret string) {
		// A secret is at least 8 characters and, like any query value,
		// holds no separator of its own.
		if len(secret) < 8 || strings.ContainsAny(secret, "&#%+ ") || strings.ContainsAny(streamid, "&%") ||
			strings.Contains(Redacted, secret) ||
			strings.IndexFunc(secret, func(r rune) bool { return !strings.ContainsRune(streamid+"%0123456789ABCDEF", r) }) < 0 {
			return // a secret the rest of the URL (or its escaping) could spell is not what is tested
		}
		for _, raw := range []string{
			"srt://h:1?passphrase=" + secret,
			"srt://h:1?streamid=" + streamid + "&passphrase=" + secret,
			"https://h/whip?token=" + secret + "&x=" + streamid,
		} {
			if got := RedactURL(raw); strings.Contains(got, secret) {
				t.Fatalf("RedactURL(%q) = %q", raw, got)
			}
		}
		if !strings.ContainsAny(secret, "/?") {
			if got := RedactURL("rtmp://h/app/" + secret); strings.Contains(got, secret) {
				t.Fatalf("rtmp key: %q", got)
			}
		}
	})
}

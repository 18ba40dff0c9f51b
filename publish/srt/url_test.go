package srt

import (
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

func mustParse(t *testing.T, raw string) (options, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", raw, err)
	}
	return parseURL(u)
}

func TestParseURL(t *testing.T) {
	o, err := mustParse(t, "srt://example.com:9000?latency=200&passphrase=0123456789abc&pbkeylen=32&streamid=%23!::r=live/cam,m=publish&mode=caller&payload_size=1316&transtype=live")
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "example.com:9000" || o.latency != 200*time.Millisecond || o.pbkeylen != 32 ||
		o.streamID != "#!::r=live/cam,m=publish" || o.payloadSize != 1316 {
		t.Errorf("parsed %+v", o)
	}
	// ffmpeg's microseconds are recognised.
	if o, _ := mustParse(t, "srt://h:1?latency=200000"); o.latency != 200*time.Millisecond {
		t.Errorf("latency=200000 (ffmpeg us) gave %v", o.latency)
	}
	if o, _ := mustParse(t, "srt://h:1?latency=2000"); o.latency != 2*time.Second {
		t.Errorf("latency=2000 ms gave %v", o.latency)
	}
	if o, _ := mustParse(t, "srt://h:1?passphrase=0123456789"); o.pbkeylen != 16 {
		t.Errorf("default pbkeylen with a passphrase: %d", o.pbkeylen)
	}
	if o, _ := mustParse(t, "srt://[::1]:1?streamid=publish:live/x"); o.addr != "[::1]:1" || o.streamID != "publish:live/x" {
		t.Errorf("IPv6 / streamid: %+v", o)
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "s3cret-pass"
	cases := map[string]string{
		"srt://h:1?latency=abc":                          "latency",
		"srt://h:1?latency=-5":                           "latency",
		"srt://h:1?latency=9000":                         "at most 8 s",
		"srt://h:1?passphrase=short":                     "10 to 79",
		"srt://h:1?passphrase=" + secret + "&pbkeylen=7": "pbkeylen",
		"srt://h:1?pbkeylen=16":                          "needs a passphrase",
		"srt://h:1?mode=listener":                        "caller",
		"srt://h:1?mode=rendezvous":                      "caller",
		"srt://h:1?latencyy=20":                          "unknown query key",
		"srt://h:1?payload_size=1000":                    "multiple of 188",
		"srt://h:1?transtype=file":                       "live",
		"srt://h:1?connect_timeout=0":                    "positive",
		"srt://h:1?maxbw=fast":                           "maxbw",
		"srt://h:1?latency=1&latency=2":                  "2 times",
		"srt://h":                                        "no port",
		"srt://h:0":                                      "port",
		"srt://h:70000":                                  "port",
		"srt://:9000":                                    "no host",
		"srt://h:1/live":                                 "streamid",
		"srt://user:" + secret + "@h:1":                  "user info",
		"srt://h:1?streamid=" + strings.Repeat("x", 600): "512",
	}
	for raw, want := range cases {
		_, err := mustParse(t, raw)
		if !errors.Is(err, media.ErrCode(media.CodeInvalidURL)) {
			t.Errorf("%s: err %v, want invalid_url", raw, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %q does not say %q", raw, err, want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the secret: %q", raw, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"srt://h:1?latency=200", "srt://h:1?passphrase=0123456789&pbkeylen=16",
		"srt://[::1]:9000?streamid=#!::r=a,m=publish", "srt://h:1?latency=%zz", "srt://h:99999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		o, err := parseURL(u)
		if err != nil {
			if !errors.Is(err, media.ErrCode(media.CodeInvalidURL)) {
				t.Fatalf("%q: error without invalid_url: %v", raw, err)
			}
			if o.passphrase != "" && strings.Contains(err.Error(), o.passphrase) {
				t.Fatalf("%q: passphrase in error", raw)
			}
			return
		}
		if o.payloadSize%tsPacket != 0 || o.latency < 0 || o.latency > 8*time.Second {
			t.Fatalf("%q: accepted out-of-range options %+v", raw, o)
		}
		if o.passphrase != "" && (len(o.passphrase) < 10 || len(o.passphrase) > 79) {
			t.Fatalf("%q: accepted passphrase of %d chars", raw, len(o.passphrase))
		}
		_ = o.config()
	})
}

// TestParseURLHashStreamID: the ffmpeg way of writing an access-control
// streamid, with '#' unescaped, keeps the passphrase that follows it.
func TestParseURLHashStreamID(t *testing.T) {
	o, err := mustParse(t, "srt://h:1?streamid=#!::r=live/cam,m=publish&passphrase=0123456789abc&latency=200")
	if err != nil {
		t.Fatal(err)
	}
	if o.streamID != "#!::r=live/cam,m=publish" || o.passphrase != "0123456789abc" || o.latency != 200*time.Millisecond {
		t.Errorf("parsed %+v: the part after '#' was lost", o)
	}
}

// TestLossWindow: loss is the share lost over the last second or so, moving
// at every call (not once a second), and forgets a congestion once it is
// over (gosrt's accumulated ratio does not).
func TestLossWindow(t *testing.T) {
	var w lossWindow
	t0 := time.Unix(0, 0)
	ms := time.Millisecond
	steps := []struct {
		at         time.Duration
		sent, lost uint64
		want       float64
	}{
		{0, 0, 0, 0},
		{250 * ms, 250, 25, 0},      // under half a second: too short to say
		{500 * ms, 500, 50, 0.1},    // from 0
		{750 * ms, 750, 75, 0.1},    // from 0
		{1000 * ms, 1000, 100, 0.1}, // from 0, a second ago
		// From here each call measures from the snapshot a second before:
		// a quarter second of 40 % loss shows at once, and is gone a
		// second later.
		{1250 * ms, 1250, 200, (200 - 25) / 1000.0},
		{1500 * ms, 1500, 225, (225 - 50) / 1000.0},
		{2250 * ms, 2250, 300, (300 - 200) / 1000.0},
		{2500 * ms, 2500, 300, (300 - 225) / 1000.0},
		{3500 * ms, 3500, 300, 0}, // congestion over: no loss now
		{4500 * ms, 3500, 300, 0}, // nothing sent
		{5000 * ms, 10, 0, 0},     // counters went back (new connection)
		{5600 * ms, 110, 20, 0.2}, // the new connection's own
	}
	for _, s := range steps {
		if got := w.update(nil, t0.Add(s.at), s.sent, s.lost); math.Abs(got-s.want) > 1e-9 {
			t.Errorf("at %v (%d sent, %d lost): loss %.3f, want %.3f", s.at, s.sent, s.lost, got, s.want)
		}
	}
}

// TestSilenceWatch: silence is the time since the receiver's word (an ACK
// that moved on, or a NAK) last changed while packets went out; none while
// nothing is sent, and none again as soon as word comes.
func TestSilenceWatch(t *testing.T) {
	var w silenceWatch
	t0 := time.Unix(0, 0)
	for i, s := range []struct {
		at         time.Duration
		word, sent uint64
		want       time.Duration
	}{
		{0, 10, 100, 0},
		{100 * time.Millisecond, 12, 110, 0},                      // word: heard at 100 ms
		{300 * time.Millisecond, 12, 110, 0},                      // nothing sent since: not silence
		{500 * time.Millisecond, 12, 130, 400 * time.Millisecond}, // sent, no word
		{900 * time.Millisecond, 12, 150, 800 * time.Millisecond},
		{1000 * time.Millisecond, 13, 160, 0}, // a NAK or an ACK that moved on
	} {
		if got := w.update(nil, t0.Add(s.at), s.word, s.sent); got != s.want {
			t.Errorf("step %d at %v: silence %v, want %v", i, s.at, got, s.want)
		}
	}
}

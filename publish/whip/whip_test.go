package whip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tphakala/go-opus/opus"
	"go.uber.org/goleak"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// keyCounter is the encoder side of the test: it counts keyframe requests
// and bitrate changes that the publisher makes.
type keyCounter struct {
	keys    atomic.Int64
	bitrate atomic.Int64
}

func (k *keyCounter) ForceKeyframe()           { k.keys.Add(1) }
func (k *keyCounter) SetBitrate(bps int) error { k.bitrate.Store(int64(bps)); return nil }

// opusTone encodes d of a 440 Hz tone into 20 ms Opus access units.
func opusTone(t testing.TB, d time.Duration) []*media.AccessUnit {
	enc, err := opus.NewEncoder(opus.EncoderConfig{SampleRate: 48000, Channels: 1, Bitrate: 64000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*media.AccessUnit
	pcm := make([]int16, 960)
	buf := make([]byte, 1276)
	for i := 0; i < int(d/(20*time.Millisecond)); i++ {
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*960+j)/48000))
		}
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		pts := time.Duration(i) * 20 * time.Millisecond
		out = append(out, &media.AccessUnit{Codec: media.CodecOpus, PTS: pts, DTS: pts, Key: true, NALUs: [][]byte{append([]byte(nil), buf[:n]...)}})
	}
	return out
}

type source struct {
	f  *mediatest.Fixture
	in publish.Input
	// live is the publisher's stats at the end of the stream, while the
	// connection was still up.
	live publish.Stats
}

func newSource(t *testing.T, d time.Duration) *source {
	f := mediatest.Generate(t, mediatest.Options{Width: 320, Height: 240, FPS: 25, Duration: d})
	f.AudioUnits = opusTone(t, d)
	return &source{f: f, in: publish.Input{
		Video: f.Video,
		Audio: media.AudioParams{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1, Bitrate: 64000, FrameSamples: 960},
	}}
}

func newPub(t *testing.T, raw string, cfg publish.Config) *Publisher {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Publisher)
}

// run publishes the source in real time; Run's error is returned.
func (s *source) run(t *testing.T, p *Publisher, enc publish.EncoderControl) error {
	q := media.NewQueue(media.QueueConfig{})
	in := s.in
	in.Queue = q
	in.Encoder = enc
	connected := make(chan struct{})
	in.OnConnected = func() { close(connected) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx, in) }()
	select {
	case <-connected:
	case err := <-errc:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("not connected after 20 s")
	}
	played := make(chan error, 1)
	go func() { played <- s.f.Play(ctx, q) }()
	select {
	case err := <-errc:
		cancel()
		<-played
		return err
	case <-played:
	}
	time.Sleep(300 * time.Millisecond)
	s.live = p.Stats()
	q.Close()
	return <-errc
}

func TestPublishToPionEndpoint(t *testing.T) {
	e := whiptest.New(t)
	e.Token = "tok-0123456789"
	e.ETag = `"v1"`
	stunSrv := whiptest.NewSTUN(t)
	e.Links = []string{`<` + stunSrv.URL() + `>; rel="ice-server"`}
	s := newSource(t, 3*time.Second)
	enc := &keyCounter{}
	p := newPub(t, e.URL(), publish.Config{BearerToken: e.Token})
	if err := s.run(t, p, enc); err != nil {
		t.Fatal(err)
	}
	frames, keys, opusN, deletes := e.Snapshot()
	if want := 75; frames < want*9/10 || frames > want*11/10 {
		t.Errorf("%d video frames received, want 75 ±10%%", frames)
	}
	if keys < 3 {
		t.Errorf("%d keyframes received, want one a second", keys)
	}
	if opusN < 135 {
		t.Errorf("%d Opus packets received, want about 150", opusN)
	}
	if deletes != 1 {
		t.Errorf("%d DELETEs on stop, want 1", deletes)
	}
	offer := e.Offers()[0]
	if !strings.Contains(offer, "H264/90000") || !strings.Contains(offer, "opus/48000/2") || !strings.Contains(offer, "packetization-mode=1") {
		t.Errorf("offer lacks H.264 packetization-mode=1 or Opus:\n%s", offer)
	}
	if strings.Count(offer, "a=rtpmap:") != 2 {
		t.Errorf("offer has codecs besides H.264 and Opus:\n%s", offer)
	}
	// The Link ice-server was used, and with full gathering its
	// reflexive candidate is in the offer (the STUN server answers at once).
	if stunSrv.Requests() == 0 || !strings.Contains(offer, "typ srflx raddr") || !strings.Contains(offer, "192.0.2.7 40000") {
		t.Errorf("STUN server from the Link header: %d requests; offer:\n%s", stunSrv.Requests(), offer)
	}
	// RTP timestamps come from the PTS: 90 kHz / 25 fps and 48 kHz * 20 ms
	// apart (loopback does not reorder).
	vts, ats := e.Timestamps()
	checkSteps(t, "video", vts, 3600)
	checkSteps(t, "audio", ats, 960)
	// ffmpeg decodes what the endpoint depacketized.
	path := filepath.Join(t.TempDir(), "rx.h264")
	os.WriteFile(path, e.AnnexB(), 0o644)
	pkts := e.Opus()
	v := mediatest.Probe(t, path)["video"]
	if v.CodecName != "h264" || v.Width != 320 || v.Height != 240 || math.Abs(float64(v.Frames()-75)) > 7.5 {
		t.Errorf("ffprobe of the received video: %+v", v)
	}
	// go-opus decodes the audio: a 440 Hz tone, not silence.
	pcm := decodeAll(t, pkts)
	pcm = pcm[len(pcm)/4 : len(pcm)*3/4]
	crossings, energy := 0, 0.0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
		energy += float64(pcm[i]) * float64(pcm[i])
	}
	hz := float64(crossings) / 2 / (float64(len(pcm)) / 48000)
	rms := math.Sqrt(energy / float64(len(pcm)))
	if math.Abs(hz-440) > 10 || rms < 1000 {
		t.Errorf("decoded audio: %.1f Hz, rms %.0f; want a 440 Hz tone", hz, rms)
	}
	st := s.live
	if st.VideoFrames < 60 || st.AudioFrames < 120 || st.BytesSent == 0 || st.PacketsSent < st.VideoFrames+st.AudioFrames || st.TargetBitrate == 0 || st.Bitrate == 0 {
		t.Errorf("stats while streaming %+v: want frames, bytes, packets and a congestion target", st)
	}
	// The RTT, from receiver reports echoing our sender reports (1/65536
	// s units: some 100 us to 1 ms on loopback): a receiver that does not
	// read our reports leaves it at zero.
	if st.RTT <= 0 {
		t.Errorf("no RTT from the receiver reports: %+v", st)
	}
	t.Logf("stats: %+v, bitrate set by congestion control: %d", st, enc.bitrate.Load())
}

func TestPLIForcesKeyframe(t *testing.T) {
	e := whiptest.New(t)
	e.SendPLI.Store(true)
	s := newSource(t, 4*time.Second)
	enc := &keyCounter{}
	p := newPub(t, e.URL(), publish.Config{})
	if err := s.run(t, p, enc); err != nil {
		t.Fatal(err)
	}
	if st := s.live; st.KeyframeRequests == 0 {
		t.Errorf("stats show no keyframe requests: %+v", st)
	}
	if p.KeyframeRequests() == 0 || enc.keys.Load() == 0 {
		t.Errorf("PLIs received %d, keyframes asked of the encoder %d", p.KeyframeRequests(), enc.keys.Load())
	}
	if enc.keys.Load() > int64(p.KeyframeRequests()) {
		t.Errorf("more keyframes (%d) than requests (%d)", enc.keys.Load(), p.KeyframeRequests())
	}
}

func checkSteps(t *testing.T, what string, ts []uint32, step uint32) {
	t.Helper()
	bad := 0
	for i := 1; i < len(ts); i++ {
		if ts[i]-ts[i-1] != step {
			bad++
		}
	}
	if len(ts) < 2 || bad > 0 {
		t.Errorf("%s RTP timestamps: %d of %d steps are not %d", what, bad, len(ts)-1, step)
	}
}

// TestPLIRateLimited: PLIs every 100 ms for 3 s ask for about 30
// keyframes; the encoder is asked at most once per KeyframeInterval.
func TestPLIRateLimited(t *testing.T) {
	e := whiptest.New(t)
	e.PLIInterval = 100 * time.Millisecond
	e.SendPLI.Store(true)
	s := newSource(t, 3*time.Second)
	enc := &keyCounter{}
	p := newPub(t, e.URL(), publish.Config{})
	start := time.Now()
	if err := s.run(t, p, enc); err != nil {
		t.Fatal(err)
	}
	// The most the limiter can let through while Run ran.
	most := int64(time.Since(start)/p.KeyframeInterval) + 1
	t.Logf("%d PLIs, %d keyframes asked of the encoder (at most %d)", p.KeyframeRequests(), enc.keys.Load(), most)
	if p.KeyframeRequests() < 10 || enc.keys.Load() == 0 || enc.keys.Load() > most {
		t.Errorf("%d PLIs gave %d keyframe requests, want 1..%d", p.KeyframeRequests(), enc.keys.Load(), most)
	}
}

func TestWrongToken(t *testing.T) {
	e := whiptest.New(t)
	e.Token = "right-token"
	s := newSource(t, time.Second)
	err := s.run(t, newPub(t, e.URL(), publish.Config{BearerToken: "wrong-token"}), nil)
	if !errors.Is(err, media.ErrCode(media.CodeAuthFailed)) {
		t.Fatalf("wrong token: %v, want auth_failed", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("token in error: %v", err)
	}
}

func TestRedirect(t *testing.T) {
	e := whiptest.New(t)
	e.Redirect = true
	e.Token = "redirect-token" // the endpoint checks it after the redirect, and on DELETE
	s := newSource(t, 2*time.Second)
	p := newPub(t, e.URL(), publish.Config{BearerToken: e.Token})
	if err := s.run(t, p, nil); err != nil {
		t.Fatal(err)
	}
	if frames, _, _, deletes := e.Snapshot(); frames < 40 || deletes != 1 {
		t.Errorf("after a 307: %d frames, %d deletes (DELETE goes to the redirected session)", frames, deletes)
	}
}

func TestGarbageAnswer(t *testing.T) {
	e := whiptest.New(t)
	e.Garbage = true
	err := newSource(t, time.Second).run(t, newPub(t, e.URL(), publish.Config{}), nil)
	if !errors.Is(err, media.ErrCode(media.CodeConnectFailed)) || !strings.Contains(err.Error(), "invalid SDP answer") {
		t.Fatalf("garbage answer: %v", err)
	}
}

func TestServerNeverAnswers(t *testing.T) {
	e := whiptest.New(t)
	e.Silent = make(chan struct{})
	start := time.Now()
	err := newSource(t, time.Second).run(t, newPub(t, e.URL(), publish.Config{ConnectTimeout: 2 * time.Second}), nil)
	if !errors.Is(err, media.ErrCode(media.CodeTimeout)) {
		t.Fatalf("silent server: %v, want timeout", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("gave up after %v with a 2 s connect timeout", d)
	}
}

func TestTricklePatch(t *testing.T) {
	e := whiptest.New(t)
	e.ETag = `"abc"`
	p := newPub(t, e.URL(), publish.Config{})
	s := &session{location: e.SessionURL(), etag: `"abc"`}
	frag := fragHeader{ufrag: "uf", pwd: "pw", mline: "m=video 9 UDP/TLS/RTP/SAVPF 102", mid: "0"}.fragment(trickleEnd)
	if err := p.patch(context.Background(), s, frag); err != nil {
		t.Fatal(err)
	}
	s.etag = `"stale"`
	if err := p.patch(context.Background(), s, frag); err == nil {
		t.Error("PATCH with a stale ETag accepted")
	}
	if p := e.Patches(); len(p) != 1 || p[0] != frag {
		t.Errorf("patches %q", p)
	}
}

func TestParseICEServers(t *testing.T) {
	got := parseICEServers([]string{
		`<stun:stun.example.net>; rel="ice-server"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="pa,s;s"; credential-type="password", <https://x/y>; rel="next"`,
		`<turns:t.example:443>;rel=ice-server`,
		`garbage`, `<http://nope>; rel="ice-server"`,
	})
	if len(got) != 3 {
		t.Fatalf("%d servers: %+v", len(got), got)
	}
	if got[0].URLs[0] != "stun:stun.example.net" || got[1].Username != "user" || got[1].Credential != "pa,s;s" || got[2].URLs[0] != "turns:t.example:443" {
		t.Errorf("%+v", got)
	}
}

func FuzzParseICEServers(f *testing.F) {
	f.Add(`<turn:t?transport=udp>; rel="ice-server"; username="u"; credential="c"`)
	f.Add(`<stun:s>, <stun:t>; rel=ice-server`)
	f.Fuzz(func(t *testing.T, h string) {
		for _, s := range parseICEServers([]string{h}) {
			if len(s.URLs) != 1 || !(strings.HasPrefix(s.URLs[0], "stun") || strings.HasPrefix(s.URLs[0], "turn")) {
				t.Fatalf("%q gave %+v", h, s)
			}
		}
	})
}

func TestBadURLs(t *testing.T) {
	for _, raw := range []string{"ftp://h/whip", "https:///whip", "https://u:p@h/whip"} {
		u, _ := url.Parse(raw)
		if _, err := New(u, publish.Config{}); !errors.Is(err, media.ErrCode(media.CodeInvalidURL)) {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

// BenchmarkStartToFirstKeyframe: from Run to the first RTP packet sent and
// to the first keyframe the endpoint has, over loopback. The encoder is
// taken to have its first keyframe ready when the connection is up.
func BenchmarkStartToFirstKeyframe(b *testing.B) {
	f := mediatest.Generate(b, mediatest.Options{Width: 320, Height: 240, FPS: 25, Duration: time.Second})
	var toRTP, toKey time.Duration
	for i := 0; i < b.N; i++ {
		e := whiptest.New(b)
		q := media.NewQueue(media.QueueConfig{})
		u, err := url.Parse(e.URL())
		if err != nil {
			b.Fatal(err)
		}
		pub, err := New(u, publish.Config{})
		if err != nil {
			b.Fatal(err)
		}
		p := pub.(*Publisher)
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		errc := make(chan error, 1)
		go func() {
			errc <- p.Run(ctx, publish.Input{Video: f.Video, Audio: media.AudioParams{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1, FrameSamples: 960}, Queue: q,
				OnConnected: func() {
					for _, au := range f.VideoUnits[:5] {
						q.Push(au)
					}
				}})
		}()
		deadline := time.Now().Add(20 * time.Second)
		for e.FirstVideo().IsZero() {
			if time.Now().After(deadline) {
				b.Fatal("no keyframe at the endpoint after 20 s")
			}
			time.Sleep(time.Millisecond)
		}
		toKey += e.FirstVideo().Sub(start)
		toRTP += time.Unix(0, p.firstRTP.Load()).Sub(start)
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
	b.ReportMetric(float64(toRTP.Microseconds())/1000/float64(b.N), "ms-to-first-rtp")
	b.ReportMetric(float64(toKey.Microseconds())/1000/float64(b.N), "ms-to-first-keyframe")
}

// TestConnectionLost: the far end goes away mid-stream; Run ends with
// connection_lost instead of sending into the void.
func TestConnectionLost(t *testing.T) {
	e := whiptest.New(t)
	s := newSource(t, 30*time.Second)
	p := newPub(t, e.URL(), publish.Config{})
	go func() {
		time.Sleep(2 * time.Second)
		e.Close()
	}()
	start := time.Now()
	err := s.run(t, p, nil)
	if !errors.Is(err, media.ErrCode(media.CodeConnectionLost)) {
		t.Fatalf("peer gone: %v, want connection_lost", err)
	}
	t.Logf("noticed after %v", time.Since(start)-2*time.Second)
}

// TestHTTPStatus: each refusal of the offer gets its stable code, the status
// in the message, and never the token.
func TestHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   media.Code
	}{
		{http.StatusUnauthorized, media.CodeAuthFailed},
		{http.StatusForbidden, media.CodeAuthFailed},
		{http.StatusNotFound, media.CodeConnectFailed},
		{http.StatusServiceUnavailable, media.CodeConnectFailed},
		{http.StatusOK, media.CodeConnectFailed}, // 200 is not 201 Created
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
		}))
		p := newPub(t, srv.URL+"/whip?token=url-secret", publish.Config{BearerToken: "bearer-secret"})
		_, _, err := p.post(context.Background(), "v=0\r\n")
		srv.Close()
		if !errors.Is(err, media.ErrCode(tc.code)) || !strings.Contains(err.Error(), fmt.Sprint(tc.status)) {
			t.Errorf("HTTP %d: %v, want %s with the status", tc.status, err, tc.code)
		}
		if err != nil && (strings.Contains(err.Error(), "secret")) {
			t.Errorf("secret in error: %v", err)
		}
	}
}

// TestLoopbackFromURL: an endpoint on this machine gets the loopback ICE
// candidate without configuration; any other host does not.
func TestLoopbackFromURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://127.0.0.1:8080/whip":       true,
		"http://127.0.0.53/whip":           true,
		"http://[::1]:8443/whip":           true,
		"https://localhost/whip":           true,
		"https://relay.example.com/whip":   false,
		"https://192.168.1.10:8443/whip":   false,
		"https://localhost.example.com/wh": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(u, publish.Config{})
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := p.(*Publisher).Loopback; got != want {
			t.Errorf("%s: Loopback %v, want %v", raw, got, want)
		}
	}
}

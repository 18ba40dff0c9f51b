//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

func TestParseURL(t *testing.T) {
	cases := []struct{ raw, addr, app, key, tc string }{
		{"rtmp://a.rtmp.youtube.com/live2/abcd-efgh", "a.rtmp.youtube.com:1935", "live2", "abcd-efgh", "rtmp://a.rtmp.youtube.com/live2"},
		{"rtmps://live-api-s.facebook.com:443/rtmp/FB-123?s_bl=1&a=x", "live-api-s.facebook.com:443", "rtmp", "FB-123?s_bl=1&a=x", "rtmps://live-api-s.facebook.com:443/rtmp"},
		{"rtmps://ingest.example/app/key", "ingest.example:443", "app", "key", "rtmps://ingest.example/app"},
		{"rtmp://127.0.0.1:1936/app/nested/key", "127.0.0.1:1936", "app", "nested/key", "rtmp://127.0.0.1:1936/app"},
		{"rtmp://[::1]/live/k%2Fx", "[::1]:1935", "live", "k/x", "rtmp://[::1]/live"},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.raw)
		got, err := parseURL(u)
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if got.addr != c.addr || got.app != c.app || got.key != c.key || got.tcURL != c.tc {
			t.Errorf("%s: %+v", c.raw, got)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for raw, want := range map[string]string{
		"rtmp://host":                  "no application",
		"rtmp://host/live":             "no stream key",
		"rtmp://host/live/":            "no stream key",
		"rtmp://host:0/live/secretkey": "port",
		"rtmp://user:pw@host/live/k":   "user info",
		"rtmp:///live/secretkey":       "no host",
		"http://host/live/secretkey":   "scheme",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		_, err = parseURL(u)
		if !errors.Is(err, media.ErrCode(media.CodeInvalidURL)) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want invalid_url %q", raw, err, want)
		}
		if strings.Contains(err.Error(), "secretkey") {
			t.Errorf("%s: key in error %q", raw, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"rtmp://h/a/k", "rtmps://h:443/a/k?x=1", "rtmp://h/a", "rtmp://[::1]:9/a/b/c", "rtmp://h/%zz/k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		tg, err := parseURL(u)
		if err != nil {
			if !errors.Is(err, media.ErrCode(media.CodeInvalidURL)) {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if tg.app == "" || tg.key == "" || tg.addr == "" {
			t.Fatalf("%q accepted with empty parts: %+v", raw, tg)
		}
		// The redacted form of an accepted URL never shows the key.
		if len(tg.key) >= 8 && strings.Contains(publish.RedactURL(raw), tg.key) {
			t.Fatalf("%q: RedactURL shows the key", raw)
		}
	})
}

func TestFLVTags(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00}
	hdr, err := appendAVCSequenceHeader(nil, sps, pps)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 6}
	want = append(want, sps...)
	want = append(want, 1, 0, 4)
	want = append(want, pps...)
	if !bytes.Equal(hdr, want) {
		t.Errorf("AVC sequence header\n got % x\nwant % x", hdr, want)
	}
	if _, err := appendAVCSequenceHeader(nil, nil, pps); err == nil {
		t.Error("sequence header without SPS accepted")
	}
	tag := appendAVCNALUs(nil, [][]byte{{0x09, 0xf0}, sps, pps, idr}, true, 40)
	if tag[0] != 0x17 || tag[1] != 1 || tag[2] != 0 || tag[3] != 0 || tag[4] != 40 {
		t.Errorf("keyframe tag header % x", tag[:5])
	}
	if n := binary.BigEndian.Uint32(tag[5:]); n != uint32(len(idr)) || !bytes.Equal(tag[9:], idr) || len(tag) != 9+len(idr) {
		t.Errorf("NALU payload % x: SPS/PPS/AUD must stay out, one length-prefixed IDR", tag[5:])
	}
	if p := appendAVCNALUs(nil, [][]byte{{0x41, 1}}, false, -2); p[0] != 0x27 || p[2] != 0xff || p[3] != 0xff || p[4] != 0xfe {
		t.Errorf("inter frame with negative cts: % x", p[:5])
	}
	if a := appendAACSequenceHeader(nil, []byte{0x11, 0x90}); !bytes.Equal(a, []byte{0xaf, 0, 0x11, 0x90}) {
		t.Errorf("AAC sequence header % x", a)
	}
	if a := appendAACFrame(nil, []byte{1, 2, 3}); !bytes.Equal(a, []byte{0xaf, 1, 1, 2, 3}) {
		t.Errorf("AAC frame % x", a)
	}
}

// BenchmarkFLVTags is the per-frame tag building: no allocations once the
// buffer has grown.
func BenchmarkFLVTags(b *testing.B) {
	nalus := [][]byte{{0x09, 0xf0}, make([]byte, 30000)}
	nalus[1][0] = 0x41
	aac := make([]byte, 400)
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = appendAVCNALUs(buf[:0], nalus, false, 0)
		buf = appendAACFrame(buf[:0], aac)
	}
}

// TestRunRefusesOtherCodecs: FLV here carries H.264 and AAC only; the
// pipeline builds AAC for RTMP (silence when the mic is off), so anything
// else is a wiring bug, refused before dialing.
func TestRunRefusesOtherCodecs(t *testing.T) {
	u, _ := url.Parse("rtmp://127.0.0.1:1/app/codec-key")
	p, err := New(u, publish.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.AudioCodec(); c != media.CodecAAC {
		t.Errorf("AudioCodec %v, want AAC", c)
	}
	for _, in := range []publish.Input{
		{Video: media.VideoParams{Codec: media.CodecH264}, Audio: media.AudioParams{Codec: media.CodecOpus}},
		{Video: media.VideoParams{Codec: media.CodecH264}, Audio: media.AudioParams{Codec: media.CodecAAC}}, // no AudioSpecificConfig
		{Video: media.VideoParams{}, Audio: media.AudioParams{Codec: media.CodecAAC, Config: []byte{0x11, 0x90}}},
	} {
		in.Queue = media.NewQueue(media.QueueConfig{})
		if err := p.Run(context.Background(), in); !errors.Is(err, media.ErrCode(media.CodeInvalidConfig)) {
			t.Errorf("%v/%v: %v, want invalid_config", in.Video.Codec, in.Audio.Codec, err)
		}
	}
}

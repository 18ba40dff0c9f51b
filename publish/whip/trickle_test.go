package whip

import (
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// offerUfrag is the offer's a=ice-ufrag.
func offerUfrag(t *testing.T, sdp string) string {
	h := parseFragHeader(sdp)
	if h.ufrag == "" || h.pwd == "" || h.mid == "" {
		t.Fatalf("offer without ICE credentials or mid:\n%s", sdp)
	}
	return h.ufrag
}

// TestTrickleLateCandidates: the STUN server from the Link header answers
// after the offer went out, and the endpoint gave an ETag: the reflexive
// candidate arrives in a PATCH (If-Match checked by the endpoint, which
// adds it to its peer connection), followed by end-of-candidates.
func TestTrickleLateCandidates(t *testing.T) {
	e := whiptest.New(t)
	e.ETag = `"trickle-1"`
	stunSrv := whiptest.NewSTUN(t)
	stunSrv.Delay = 2500 * time.Millisecond // past gatherWait (1 s), within pion's 5 s STUN timeout
	e.Links = []string{`<` + stunSrv.URL() + `>; rel="ice-server"`}
	s := newSource(t, 5*time.Second)
	if err := s.run(t, newPub(t, e.URL(), publish.Config{}), nil); err != nil {
		t.Fatal(err)
	}
	offer := e.Offers()[0]
	if strings.Contains(offer, "typ srflx") {
		t.Fatalf("the late reflexive candidate is already in the offer:\n%s", offer)
	}
	ufrag := offerUfrag(t, offer)
	var srflx bool
	for _, p := range e.Patches() {
		if !strings.Contains(p, "a=ice-ufrag:"+ufrag+"\r\n") || !strings.Contains(p, "a=mid:") || !strings.Contains(p, "\r\nm=") {
			t.Errorf("PATCH fragment without the offer's ICE credentials or mid:\n%s", p)
		}
		if strings.Contains(p, "typ srflx") && strings.Contains(p, "192.0.2.7 40000") {
			srflx = true
		}
	}
	if !srflx {
		t.Errorf("no PATCH with the reflexive candidate; STUN requests %d, patches %q", stunSrv.Requests(), e.Patches())
	}
	if e.EndOfCandidates() != 1 {
		t.Errorf("%d end-of-candidates PATCHes, want 1", e.EndOfCandidates())
	}
	if frames, _, _, _ := e.Snapshot(); frames < 100 {
		t.Errorf("%d frames received", frames)
	}
}

// TestNoTrickleWithoutETag: an endpoint that gives no ETag gets no PATCH;
// the offer's candidates are enough on loopback.
func TestNoTrickleWithoutETag(t *testing.T) {
	e := whiptest.New(t)
	stunSrv := whiptest.NewSTUN(t)
	stunSrv.Delay = 2500 * time.Millisecond
	e.Links = []string{`<` + stunSrv.URL() + `>; rel="ice-server"`}
	s := newSource(t, 4*time.Second)
	if err := s.run(t, newPub(t, e.URL(), publish.Config{}), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Patches()); n != 0 {
		t.Errorf("%d PATCHes to an endpoint without ETag", n)
	}
	if frames, _, _, _ := e.Snapshot(); frames < 80 {
		t.Errorf("%d frames received", frames)
	}
}

func TestFragment(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\na=group:BUNDLE 0 1\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretpwd\r\na=mid:0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretpwd\r\na=mid:1\r\n"
	h := parseFragHeader(sdp)
	want := fragHeader{ufrag: "abcd", pwd: "secretpwd", mline: "m=video 9 UDP/TLS/RTP/SAVPF 102", mid: "0"}
	if h != want {
		t.Fatalf("%+v, want %+v", h, want)
	}
	got := h.fragment("candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host")
	exp := "a=ice-ufrag:abcd\r\na=ice-pwd:secretpwd\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host\r\n"
	if got != exp {
		t.Errorf("fragment:\n%q\nwant\n%q", got, exp)
	}
	if end := h.fragment(trickleEnd); !strings.HasSuffix(end, "a=mid:0\r\na=end-of-candidates\r\n") {
		t.Errorf("end fragment %q", end)
	}
}

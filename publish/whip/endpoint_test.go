package whip

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// endpoint is a WHIP server written with pion: a real WebRTC peer that
// receives what the publisher sends, depacketizes H.264 to Annex-B and
// collects Opus packets.
type endpoint struct {
	t        testing.TB
	srv      *httptest.Server
	token    string
	etag     string // when set, the endpoint supports trickle PATCH
	links    []string
	redirect bool
	garbage  bool
	silent   chan struct{} // when set, POST hangs until closed
	loopback bool          // offer 127.0.0.1 candidates (network namespace tests)

	mu         sync.Mutex
	pcs        []*webrtc.PeerConnection
	annexB     []byte
	frames     int // video frames (RTP marker bits)
	keyframes  int
	opus       [][]byte
	patches    []string
	deletes    int
	offers     []string
	firstVideo time.Time
	wg         sync.WaitGroup
	sendPLI    atomic.Bool
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{t: t}
	e.srv = newServer(newMux(e))
	t.Cleanup(e.close)
	return e
}

func newMux(e *endpoint) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/old/whip", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/whip", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/whip", e.serveWHIP)
	mux.HandleFunc("/session/1", e.serveSession)
	return mux
}

func newServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

func (e *endpoint) close() {
	if e.silent != nil {
		select {
		case <-e.silent:
		default:
			close(e.silent)
		}
	}
	e.srv.Close()
	e.mu.Lock()
	pcs := e.pcs
	e.mu.Unlock()
	for _, pc := range pcs {
		pc.Close()
	}
	e.wg.Wait()
}

func (e *endpoint) url() string {
	if e.redirect {
		return e.srv.URL + "/old/whip"
	}
	return e.srv.URL + "/whip"
}

func (e *endpoint) serveWHIP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		for _, l := range e.links {
			w.Header().Add("Link", l)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if e.silent != nil {
		<-e.silent
		return
	}
	if r.Header.Get("Content-Type") != "application/sdp" {
		http.Error(w, "content type", http.StatusUnsupportedMediaType)
		return
	}
	if e.token != "" && r.Header.Get("Authorization") != "Bearer "+e.token {
		http.Error(w, "token", http.StatusUnauthorized)
		return
	}
	offer, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.offers = append(e.offers, string(offer))
	e.mu.Unlock()
	if e.garbage {
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", "/session/1")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "this is not SDP\r\n")
		return
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		e.t.Error(err)
		return
	}
	// A receiver as browsers and servers are: NACKs, receiver reports,
	// TWCC feedback.
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		e.t.Error(err)
		return
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		e.t.Error(err)
		return
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(e.loopback)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		e.t.Error(err)
		return
	}
	e.mu.Lock()
	e.pcs = append(e.pcs, pc)
	e.mu.Unlock()
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		e.wg.Add(1)
		defer e.wg.Done()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			e.readVideo(pc, tr)
		} else {
			e.readAudio(tr)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	done := webrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(answer)
	<-done
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/session/1")
	if e.etag != "" {
		w.Header().Set("ETag", e.etag)
	}
	for _, l := range e.links {
		w.Header().Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, pc.LocalDescription().SDP)
}

func (e *endpoint) serveSession(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch r.Method {
	case http.MethodDelete:
		e.deletes++
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		if r.Header.Get("Content-Type") != "application/trickle-ice-sdpfrag" || r.Header.Get("If-Match") != e.etag {
			http.Error(w, "precondition", http.StatusPreconditionFailed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		e.patches = append(e.patches, string(b))
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (e *endpoint) readVideo(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote) {
	var depack codecs.H264Packet
	var frame []byte
	lastPLI := time.Now()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		data, err := depack.Unmarshal(pkt.Payload)
		if err != nil {
			continue
		}
		frame = append(frame, data...)
		if !pkt.Marker {
			continue
		}
		key := containsIDR(frame)
		e.mu.Lock()
		if e.firstVideo.IsZero() {
			e.firstVideo = time.Now()
		}
		e.annexB = append(e.annexB, frame...)
		e.frames++
		if key {
			e.keyframes++
		}
		e.mu.Unlock()
		frame = frame[:0]
		if e.sendPLI.Load() && time.Since(lastPLI) > time.Second {
			lastPLI = time.Now()
			pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
		}
	}
}

func containsIDR(annexB []byte) bool {
	for i := 0; i+4 < len(annexB); i++ {
		if annexB[i] == 0 && annexB[i+1] == 0 && annexB[i+2] == 1 && annexB[i+3]&0x1f == 5 {
			return true
		}
	}
	return false
}

func (e *endpoint) readAudio(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		e.mu.Lock()
		e.opus = append(e.opus, append([]byte(nil), pkt.Payload...))
		e.mu.Unlock()
	}
}

func (e *endpoint) snapshot() (frames, keys, opus, deletes int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.frames, e.keyframes, len(e.opus), e.deletes
}

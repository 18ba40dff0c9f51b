// Package whiptest is a WHIP endpoint for tests and benchmarks, written with
// pion: a real WebRTC receiver that depacketizes H.264 to Annex-B and
// collects Opus packets, like httptest for WHIP.
package whiptest

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// Endpoint is a WHIP server: POST /whip answers an offer (checking the
// content type, that the offer has H.264 and Opus and, when Token is set,
// the bearer token), /session/1 takes PATCH (trickle, with If-Match against
// ETag; its candidates are added to the peer connection) and DELETE, both
// with the token too; /old/whip redirects with 307. Set the exported fields
// before publishing.
type Endpoint struct {
	fail     func(error) // reports a broken handshake on the endpoint's side
	srv      *httptest.Server
	Token    string
	ETag     string // when set, the endpoint supports trickle PATCH
	Links    []string
	Redirect bool
	Garbage  bool
	Silent   chan struct{} // when set, POST hangs until closed
	Loopback bool          // offer 127.0.0.1 candidates (network namespace tests)
	// UDPPort, when set, is the one port every peer connection's media
	// arrives on, so a test can drop or block it (nftables) and a new
	// endpoint can take it over after a restart.
	UDPPort int
	// OnFrame, when set, hears every complete video frame as it arrives,
	// reassembled in sequence order (NACK retransmissions arrive late and
	// out of order); a frame whose packets never all came within a second,
	// or that a complete keyframe after it overtook, is not passed. rtpTS
	// is the frame's RTP timestamp (90 kHz).
	OnFrame func(arrived time.Time, rtpTS uint32, annexB []byte)

	mu         sync.Mutex
	pcs        []*webrtc.PeerConnection
	annexB     []byte
	frames     int // video frames (RTP marker bits)
	keyframes  int
	opus       [][]byte
	patches    []string
	endOfCands int
	deletes    int
	offers     []string
	firstVideo time.Time
	wg         sync.WaitGroup
	// SendPLI makes the endpoint send a PLI every PLIInterval (default
	// 1 s) of received video.
	SendPLI     atomic.Bool
	PLIInterval time.Duration
	videoTS     []uint32 // RTP timestamp of each complete video frame
	audioTS     []uint32
}

// New starts an endpoint on loopback, closed at the test's cleanup.
func New(t testing.TB) *Endpoint {
	e := Start(func(err error) { t.Error(err) })
	t.Cleanup(e.Close)
	return e
}

// Start starts an endpoint on loopback outside a test (scripts, benchmarks);
// fail, if not nil, hears of errors on the endpoint's side. Close it.
func Start(fail func(error)) *Endpoint {
	if fail == nil {
		fail = func(error) {}
	}
	e := &Endpoint{fail: fail}
	e.srv = httptest.NewServer(e.mux())
	return e
}

// StartOn is Start on a given address (host:port), for a test that stops
// an endpoint and starts another where publishers will look for it. Set
// the exported fields in setup, which runs before the endpoint serves.
func StartOn(addr string, fail func(error), setup func(*Endpoint)) (*Endpoint, error) {
	if fail == nil {
		fail = func(error) {}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	e := &Endpoint{fail: fail}
	if setup != nil {
		setup(e)
	}
	e.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: e.mux()}}
	e.srv.Start()
	return e, nil
}

func (e *Endpoint) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/old/whip", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/whip", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/whip", e.serveWHIP)
	mux.HandleFunc("/session/1", e.serveSession)
	return mux
}

// Close stops the server and every peer connection.
func (e *Endpoint) Close() {
	if e.Silent != nil {
		select {
		case <-e.Silent:
		default:
			close(e.Silent)
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

// URL is where to publish.
func (e *Endpoint) URL() string {
	if e.Redirect {
		return e.srv.URL + "/old/whip"
	}
	return e.srv.URL + "/whip"
}

func (e *Endpoint) serveWHIP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		for _, l := range e.Links {
			w.Header().Add("Link", l)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if e.Silent != nil {
		<-e.Silent
		return
	}
	if r.Header.Get("Content-Type") != "application/sdp" {
		http.Error(w, "content type", http.StatusUnsupportedMediaType)
		return
	}
	if !e.authorized(r) {
		http.Error(w, "token", http.StatusUnauthorized)
		return
	}
	offer, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.offers = append(e.offers, string(offer))
	e.mu.Unlock()
	if !strings.Contains(string(offer), "H264/90000") || !strings.Contains(string(offer), "opus/48000") {
		http.Error(w, "offer must have H.264 and Opus", http.StatusBadRequest)
		return
	}
	if e.Garbage {
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", "/session/1")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "this is not SDP\r\n")
		return
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		e.fail(err)
		return
	}
	// A receiver as browsers and servers are: NACKs, receiver reports,
	// TWCC feedback.
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		e.fail(err)
		return
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		e.fail(err)
		return
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(e.Loopback)
	if e.UDPPort > 0 {
		if err := se.SetEphemeralUDPPortRange(uint16(e.UDPPort), uint16(e.UDPPort)); err != nil {
			e.fail(err)
			return
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		e.fail(err)
		return
	}
	e.mu.Lock()
	e.pcs = append(e.pcs, pc)
	e.mu.Unlock()
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		e.wg.Add(2)
		defer e.wg.Done()
		go func() {
			// The interceptors see the sender's reports only when they
			// are read: without this the receiver reports carry no LSR
			// and the publisher cannot measure the RTT, as it can with a
			// browser.
			defer e.wg.Done()
			for {
				if _, _, err := recv.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		switch {
		case tr.Kind() == webrtc.RTPCodecTypeVideo && e.OnFrame != nil:
			e.readFrames(pc, tr)
		case tr.Kind() == webrtc.RTPCodecTypeVideo:
			e.readVideo(pc, tr)
		default:
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
	if e.ETag != "" {
		w.Header().Set("ETag", e.ETag)
	}
	for _, l := range e.Links {
		w.Header().Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, pc.LocalDescription().SDP)
}

func (e *Endpoint) authorized(r *http.Request) bool {
	return e.Token == "" || r.Header.Get("Authorization") == "Bearer "+e.Token
}

func (e *Endpoint) serveSession(w http.ResponseWriter, r *http.Request) {
	if !e.authorized(r) {
		http.Error(w, "token", http.StatusUnauthorized)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch r.Method {
	case http.MethodDelete:
		e.deletes++
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		if e.ETag == "" {
			http.Error(w, "no trickle", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Content-Type") != "application/trickle-ice-sdpfrag" {
			http.Error(w, "content type", http.StatusUnsupportedMediaType)
			return
		}
		if r.Header.Get("If-Match") != e.ETag {
			http.Error(w, "precondition", http.StatusPreconditionFailed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		e.patches = append(e.patches, string(b))
		if len(e.pcs) > 0 {
			if err := addCandidates(e.pcs[len(e.pcs)-1], string(b)); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		if strings.Contains(string(b), "a=end-of-candidates") {
			e.endOfCands++
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

// addCandidates adds the candidates of a trickle-ice-sdpfrag to pc.
func addCandidates(pc *webrtc.PeerConnection, frag string) error {
	var mid string
	for _, line := range strings.Split(frag, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			if mid == "" {
				return errors.New("candidate before a=mid")
			}
			m := mid
			if err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a="), SDPMid: &m}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Endpoint) readVideo(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote) {
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
		e.videoTS = append(e.videoTS, pkt.Timestamp)
		e.frames++
		if key {
			e.keyframes++
		}
		e.mu.Unlock()
		frame = frame[:0]
		every := e.PLIInterval
		if every <= 0 {
			every = time.Second
		}
		if e.SendPLI.Load() && time.Since(lastPLI) > every {
			lastPLI = time.Now()
			pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
		}
	}
}

// readFrames reassembles video frames through a jitter buffer that acts
// as a browser's does (jitter.go: sequence order, a hole waited for up to
// a second for NACKs to repair it, a complete keyframe behind a hole
// handed on at once) and hands each to OnFrame. When frames were given up
// before one that is not a keyframe, the endpoint asks for a keyframe
// (PLI, at most every 300 ms), as a browser does when its decoder lost a
// reference.
func (e *Endpoint) readFrames(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote) {
	jb := newJitterBuffer(time.Second)
	var lastPLI time.Time
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, f := range jb.push(pkt, now) {
			if f.dropped > 0 && !containsIDR(f.annexB) && now.Sub(lastPLI) >= 300*time.Millisecond {
				lastPLI = now
				pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
			}
			e.mu.Lock()
			if e.firstVideo.IsZero() {
				e.firstVideo = now
			}
			e.frames++
			if containsIDR(f.annexB) {
				e.keyframes++
			}
			e.mu.Unlock()
			e.OnFrame(now, f.ts, f.annexB)
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

func (e *Endpoint) readAudio(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		e.mu.Lock()
		e.opus = append(e.opus, append([]byte(nil), pkt.Payload...))
		e.audioTS = append(e.audioTS, pkt.Timestamp)
		e.mu.Unlock()
	}
}

// Snapshot returns the video frames, keyframes and Opus packets received,
// and the DELETEs seen.
func (e *Endpoint) Snapshot() (frames, keys, opus, deletes int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.frames, e.keyframes, len(e.opus), e.deletes
}

// AnnexB is the H.264 received, as an Annex-B byte stream.
func (e *Endpoint) AnnexB() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]byte(nil), e.annexB...)
}

// Opus returns the Opus packets received.
func (e *Endpoint) Opus() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.opus...)
}

// Timestamps returns the RTP timestamps of the video frames and the Opus
// packets received, in arrival order.
func (e *Endpoint) Timestamps() (video, audio []uint32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]uint32(nil), e.videoTS...), append([]uint32(nil), e.audioTS...)
}

// Offers returns the SDP offers posted.
func (e *Endpoint) Offers() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.offers...)
}

// Patches returns the trickle-ICE fragments received.
func (e *Endpoint) Patches() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.patches...)
}

// EndOfCandidates counts the trickle PATCHes that said a=end-of-candidates.
func (e *Endpoint) EndOfCandidates() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.endOfCands
}

// FirstVideo is when the first complete video frame arrived (zero: none).
func (e *Endpoint) FirstVideo() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.firstVideo
}

// SessionURL is the session resource the endpoint hands out.
func (e *Endpoint) SessionURL() string { return e.srv.URL + "/session/1" }

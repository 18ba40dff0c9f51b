package whiptest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// STUN is a STUN server on 127.0.0.1 for tests of the Link ice-server
// hints: it counts Binding requests and answers each after Delay with
// Mapped as the reflexive address, so a test can tell a server-reflexive
// candidate from a host one and can make it arrive late (for trickle).
type STUN struct {
	Delay  time.Duration
	Mapped *net.UDPAddr

	conn     *net.UDPConn
	requests atomic.Int64
	wg       sync.WaitGroup
	done     chan struct{}
}

// NewSTUN starts a STUN server, closed at the test's cleanup. Set Delay
// and Mapped before the first request.
func NewSTUN(t testing.TB) *STUN {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &STUN{conn: conn, done: make(chan struct{}), Mapped: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// URL is the server as a Link header value: <stun:127.0.0.1:port>.
func (s *STUN) URL() string { return "stun:" + s.conn.LocalAddr().String() }

// Requests counts the Binding requests received.
func (s *STUN) Requests() int { return int(s.requests.Load()) }

// Close stops the server and waits for delayed answers to be dropped.
func (s *STUN) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.conn.Close()
	s.wg.Wait()
}

func (s *STUN) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if req.Decode() != nil || req.Type != stun.BindingRequest {
			continue
		}
		s.requests.Add(1)
		resp, err := stun.Build(req, stun.BindingSuccess,
			&stun.XORMappedAddress{IP: s.Mapped.IP, Port: s.Mapped.Port}, stun.Fingerprint)
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-s.done:
			case <-time.After(s.Delay):
				s.conn.WriteToUDP(resp.Raw, from)
			}
		}()
	}
}

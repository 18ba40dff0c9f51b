//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
)

// dialRTMP dials and runs the RTMP handshake within ctx.
//
// go-rtmp v0.0.7 dials with a *net.Dialer and then runs the RTMP handshake
// on a connection it never hands out, with no deadline: a server that
// accepts TCP and stays silent would hold us forever. The dialer's Control
// hook gives us the socket, and shutting it down when ctx ends makes the
// stuck handshake read fail, so the dial returns and nothing is left
// behind.
//
// It also returns the TCP socket (valid while the connection is open; its
// Control fails once closed) for the transport's own view of the path,
// which go-rtmp does not give either (tcpRTT).
func dialRTMP(ctx context.Context, t target, tlsConf *tls.Config, cfg *gortmp.ConnConfig, timeout time.Duration) (*gortmp.ClientConn, syscall.RawConn, error) {
	var mu sync.Mutex
	fd := -1
	finished := false
	var raw syscall.RawConn
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(f uintptr) {
				mu.Lock()
				fd, raw = int(f), c
				mu.Unlock()
				// A send buffer of a second or so at streaming rates, not
				// the megabytes Linux grows it to: what sits in it is
				// latency the viewer sees, and while it can absorb
				// seconds of a cut link no write blocks, so the bitrate
				// controller hears nothing. The kernel doubles the value.
				syscall.SetsockoptInt(int(f), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sendBuffer/2)
			})
		},
	}
	type result struct {
		cc  *gortmp.ClientConn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		if tlsConf != nil {
			r.cc, r.err = gortmp.DialWithTLSDialer(&tls.Dialer{NetDialer: dialer, Config: tlsConf}, "rtmps", t.addr, cfg)
		} else {
			r.cc, r.err = gortmp.DialWithDialer(dialer, "rtmp", t.addr, cfg)
		}
		mu.Lock()
		finished = true
		mu.Unlock()
		ch <- r
	}()
	select {
	case r := <-ch:
		mu.Lock()
		defer mu.Unlock()
		return r.cc, raw, r.err
	case <-ctx.Done():
		mu.Lock()
		if !finished && fd >= 0 {
			syscall.Shutdown(fd, syscall.SHUT_RDWR)
		}
		mu.Unlock()
		if r := <-ch; r.cc != nil {
			r.cc.Close()
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, nil, media.Errorf(media.CodeTimeout, "RTMP server %s did not complete the handshake within %v", t.addr, timeout)
		}
		return nil, nil, ctx.Err()
	}
}

// sendBuffer is the socket send buffer asked for, bytes.
const sendBuffer = 256 << 10

// tcpRTT reads the kernel's smoothed RTT of the connection. RTMP has no
// reports of its own; a link filling up shows here (the bottleneck's queue
// is in every round trip) seconds before a write blocks. The bytes the
// socket holds are no such signal: a keyframe fills them for a moment on
// any link.
func tcpRTT(raw syscall.RawConn) (time.Duration, bool) {
	if raw == nil {
		return 0, false
	}
	var info *unix.TCPInfo
	err := raw.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err != nil || info == nil {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, true
}

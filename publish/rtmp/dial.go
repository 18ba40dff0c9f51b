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
func dialRTMP(ctx context.Context, t target, tlsConf *tls.Config, cfg *gortmp.ConnConfig, timeout time.Duration) (*gortmp.ClientConn, error) {
	var mu sync.Mutex
	fd := -1
	finished := false
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(f uintptr) {
				mu.Lock()
				fd = int(f)
				mu.Unlock()
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
		return r.cc, r.err
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
			return nil, media.Errorf(media.CodeTimeout, "RTMP server %s did not complete the handshake within %v", t.addr, timeout)
		}
		return nil, ctx.Err()
	}
}

//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"

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
// which go-rtmp does not give either (readTCPPath).
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

// tcpPath is what the kernel knows of the connection's path. RTMP has no
// reports of its own, and a write blocks only once the socket buffer is
// full, seconds into a cut link (NOTES.md): the kernel's view shows the
// cut a round trip after it.
type tcpPath struct {
	// rtt is the smoothed RTT: a filling link's queue is in every round
	// trip.
	rtt time.Duration
	// deliveryRate is the rate the receiver acknowledged data at, bit/s,
	// over the kernel's latest rate sample (tcpi_delivery_rate); 0 when
	// that sample was application limited: we sent less than the path
	// could take, so it says nothing of the path.
	deliveryRate int
	// queued is the data the socket holds, bytes: not yet sent, and sent
	// but not acknowledged (in the path, or its queue).
	queued int
}

// readTCPPath reads TCP_INFO from the socket (false once it is closed).
func readTCPPath(raw syscall.RawConn) (tcpPath, bool) {
	if raw == nil {
		return tcpPath{}, false
	}
	var info *unix.TCPInfo
	err := raw.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err != nil || info == nil {
		return tcpPath{}, false
	}
	p := tcpPath{
		rtt:    time.Duration(info.Rtt) * time.Microsecond,
		queued: int(info.Notsent_bytes) + int(info.Unacked)*int(info.Snd_mss),
	}
	if !appLimited(info) {
		p.deliveryRate = int(min(info.Delivery_rate*8, math.MaxInt32))
	}
	return p, true
}

// appLimited reads tcpi_delivery_rate_app_limited, the low bit of the
// struct's eighth byte (a C bit-field after six one-byte fields and the
// window-scale nibbles), which x/sys/unix leaves in padding: it has no
// field for it. The kernel sets it when the latest rate sample was taken
// while we had nothing to send. Bit-fields fill from the low bit on
// little-endian targets (amd64, arm64), from the high bit on big-endian.
func appLimited(info *unix.TCPInfo) bool {
	bit := byte(1)
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		bit = 0x80
	}
	return (*[8]byte)(unsafe.Pointer(info))[7]&bit != 0
}

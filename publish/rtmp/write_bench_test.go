//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"

	gortmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/message"

	"github.com/glassagent/glassagent/publish"
)

// sinkHandler is a go-rtmp server that accepts any publish and drops the
// media: the far end for measuring our side of the write path.
type sinkHandler struct{ gortmp.DefaultHandler }

func (sinkHandler) OnPublish(*gortmp.StreamContext, uint32, *message.NetStreamPublish) error {
	return nil
}
func (sinkHandler) OnVideo(_ uint32, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }
func (sinkHandler) OnAudio(_ uint32, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }

// BenchmarkWritePath is muxing plus the RTMP write of each unit, over
// loopback to an in-process go-rtmp server. The muxer allocates nothing
// (TestMuxerNoAllocs); what this reports on top is go-rtmp v0.0.7's own
// per-message cost (a context with a timer per Write, chunk header
// encoding, a LimitReader per chunk) plus the in-process server's
// decoding, which the library gives no way around.
func BenchmarkWritePath(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := gortmp.NewServer(&gortmp.ServerConfig{OnConnect: func(c net.Conn) (io.ReadWriteCloser, *gortmp.ConnConfig) {
		return c, &gortmp.ConnConfig{Handler: &sinkHandler{}}
	}})
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	defer func() { srv.Close(); <-done }()

	p := newPub(b, fmt.Sprintf("rtmp://%s/app/bench-key", ln.Addr()), publish.Config{})
	s, err := p.connect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer s.cc.Close()
	w := &tagWriter{stream: s.stream, p: p}
	units := muxUnits()
	m := &muxer{}
	var n int64
	for _, au := range units {
		n += int64(au.Size())
	}
	b.SetBytes(n / int64(len(units)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tags, err := m.push(units[i%len(units)])
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range tags {
			if err := w.write(t.ts, t.video, t.body); err != nil {
				b.Fatal(err)
			}
		}
	}
}

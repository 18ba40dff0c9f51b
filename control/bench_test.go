package control

import (
	"errors"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	srt "github.com/datarhei/gosrt"
)

// firstPacketListener is a gosrt listener that reports when the first
// payload of each connection arrives.
type firstPacketListener struct {
	ln    srt.Listener
	first chan time.Time
	wg    sync.WaitGroup
}

func newFirstPacketListener(b *testing.B) *firstPacketListener {
	ln, err := srt.Listen("srt", "127.0.0.1:0", srt.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	l := &firstPacketListener{ln: ln, first: make(chan time.Time, 64)}
	l.serve()
	return l
}

// serve accepts publishers and reports each one's first payload.
func (l *firstPacketListener) serve() {
	ln := l.ln
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			conn, _, err := ln.Accept(func(srt.ConnRequest) srt.ConnType { return srt.PUBLISH })
			if err != nil {
				return
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				defer conn.Close()
				buf := make([]byte, 1500)
				firstSeen := false
				for {
					if _, err := conn.Read(buf); err != nil {
						if !errors.Is(err, io.EOF) {
							return
						}
						return
					}
					if !firstSeen {
						firstSeen = true
						l.first <- time.Now()
					}
				}
			}()
		}
	}()
}

func (l *firstPacketListener) close() {
	l.ln.Close()
	l.wg.Wait()
}

func percentile(d []time.Duration, p int) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[(len(d)-1)*p/100]
}

// BenchmarkStartToFirstPacket: manager Start to the first SRT packet at a
// loopback listener, and Stop to the camera being free, with the software
// encoder; p50 and p90 over the runs (use -benchtime 20x).
func BenchmarkStartToFirstPacket(b *testing.B) {
	l := newFirstPacketListener(b)
	defer l.close()
	cfg := testConfig()
	cfg.Video = VideoConfig{Width: 1280, Height: 720, Bitrate: 2_000_000, FrameRate: 30}
	m := NewManager(cfg, Publishers())
	defer m.Close()
	url := "srt://" + l.ln.Addr().String()
	var starts, stops []time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		info, err := m.Start(StartRequest{URL: url})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case t1 := <-l.first:
			starts = append(starts, t1.Sub(t0))
		case <-time.After(10 * time.Second):
			b.Fatal("no packet within 10 s")
		}
		time.Sleep(200 * time.Millisecond)
		t2 := time.Now()
		if _, err := m.Stop(info.StreamID, ""); err != nil {
			b.Fatal(err)
		}
		stops = append(stops, time.Since(t2))
	}
	b.ReportMetric(float64(percentile(starts, 50).Milliseconds()), "start-p50-ms")
	b.ReportMetric(float64(percentile(starts, 90).Milliseconds()), "start-p90-ms")
	b.ReportMetric(float64(percentile(stops, 50).Milliseconds()), "stop-p50-ms")
}

// BenchmarkReconnect: the receiver goes away and comes back; time from its
// return to the first packet of the new connection (which starts on a
// keyframe), with the backoff at 200 ms.
func BenchmarkReconnect(b *testing.B) {
	l := newFirstPacketListener(b)
	addr := l.ln.Addr().String()
	cfg := testConfig()
	cfg.BackoffInitial, cfg.BackoffMax = 200*time.Millisecond, 200*time.Millisecond
	m := NewManager(cfg, Publishers())
	defer m.Close()
	ch, unsub := m.Subscribe()
	defer unsub()
	info, err := m.Start(StartRequest{URL: "srt://" + addr})
	if err != nil {
		b.Fatal(err)
	}
	<-l.first
	var back []time.Duration
	for i := 0; i < b.N; i++ {
		l.close()
		for e := range ch {
			if e.Status == StatusReconnecting {
				break
			}
		}
		ln, err := srt.Listen("srt", addr, srt.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		l = &firstPacketListener{ln: ln, first: make(chan time.Time, 64)}
		l.serve()
		t0 := time.Now()
		select {
		case t1 := <-l.first:
			back = append(back, t1.Sub(t0))
		case <-time.After(20 * time.Second):
			b.Fatal("no packet after the receiver came back")
		}
	}
	m.Stop(info.StreamID, "")
	l.close()
	b.ReportMetric(float64(percentile(back, 50).Milliseconds()), "back-to-first-packet-p50-ms")
}

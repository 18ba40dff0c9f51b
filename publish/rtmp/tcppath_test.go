//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"io"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestTCPPath reads the kernel's view of a connection through a 1 Mbit/s
// bottleneck (htb in a network namespace of the test's own, on loopback):
// while the sender is ahead of the link, the socket holds data and the
// delivery rate is the link's; once everything is acknowledged, nothing
// is queued and the last rate sample, taken with nothing to send, reads as
// no rate at all. On loopback without a bottleneck the delivery rate is
// loopback speed, whatever the receiver's pace.
func TestTCPPath(t *testing.T) {
	if !whiptest.InNetns(t, "TestTCPPath") {
		return
	}
	whiptest.EthernetLoopback(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const linkRate = 1 << 20 // bit/s
	port := ln.Addr().(*net.TCPAddr).Port
	whiptest.ShapePort(t, "tcp", port, linkRate, 64000)
	readDone := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			readDone <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		readDone <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	raw, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}

	// Idle, after a small write the link took: nothing queued, no rate
	// (the sample was application limited).
	tc.Write(make([]byte, 1000))
	waitFor(t, "the first write acknowledged", func() bool {
		p, ok := readTCPPath(raw)
		return ok && p.queued == 0
	})
	if p, _ := readTCPPath(raw); p.deliveryRate != 0 || p.rtt <= 0 {
		t.Errorf("idle connection: %+v, want no delivery rate and an RTT", p)
	}

	// Four seconds' worth of the link: the socket backs up.
	writeDone := make(chan error, 1)
	go func() {
		_, err := tc.Write(make([]byte, 4*linkRate/8))
		writeDone <- err
	}()
	// Past the start (slow start fills the link's queue), then the
	// median of readings over a second: each is the kernel's latest rate
	// sample, one ACK's worth, which alone strays by a fifth.
	time.Sleep(time.Second)
	var rates []int
	var p tcpPath
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		p, _ = readTCPPath(raw)
		if p.queued <= 0 {
			t.Fatalf("nothing queued while the link is behind: %+v", p)
		}
		rates = append(rates, p.deliveryRate)
	}
	slices.Sort(rates)
	rate := rates[len(rates)/2]
	t.Logf("backed up: %d bytes queued, delivery rate %d bit/s (median; %d-%d), link %d, RTT %v", p.queued, rate, rates[0], rates[len(rates)-1], linkRate, p.rtt)
	if rate < linkRate*8/10 || rate > linkRate*12/10 {
		t.Errorf("delivery rate %d bit/s through a %d bit/s link", rate, linkRate)
	}
	if err := <-writeDone; err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	if _, ok := readTCPPath(raw); ok {
		t.Error("read a closed socket")
	}
	if _, ok := readTCPPath(syscall.RawConn(nil)); ok {
		t.Error("read no socket")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

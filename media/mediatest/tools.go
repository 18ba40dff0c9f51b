package mediatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NeedTool returns the path of an external program the test needs. In CI
// (CI set), where make test installs every tool, a missing one fails the
// test; elsewhere it skips with a clear message.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (scripts/test-deps.sh installs it)", name)
		}
		t.Skipf("%s is not installed; make test installs it", name)
	}
	return p
}

// FreeUDPPort returns a UDP port that is free on loopback right now.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// FreeTCPPort returns a TCP port that is free on loopback right now.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is an external peer (ffmpeg, srt-live-transmit, nginx) that the
// test started; it is killed at cleanup and its stderr logged on failure.
type Process struct {
	Cmd    *exec.Cmd
	Stderr *bytes.Buffer
	done   chan struct{}
}

// Start runs a peer program in the background.
func Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	return StartTo(t, "", name, args...)
}

// StartTo runs a peer program in the background with its standard output
// written to the file stdout (none when empty).
func StartTo(t testing.TB, stdout, name string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(NeedTool(t, name), args...)
	p := &Process{Cmd: cmd, Stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.Stderr
	if stdout != "" {
		f, err := os.Create(stdout)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close() // the child has its own descriptor
		cmd.Stdout = f
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.Stderr.String())
		}
	})
	return p
}

// Kill stops the peer abruptly (as a crash would) and waits for it.
func (p *Process) Kill() {
	p.Cmd.Process.Kill()
	<-p.done
}

// Wait waits up to d for the peer to exit by itself, then kills it. It
// reports whether the peer exited by itself.
func (p *Process) Wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		p.Kill()
		return false
	}
}

// Stream is one stream as ffprobe reports it.
type Stream struct {
	CodecType  string `json:"codec_type"`
	CodecName  string `json:"codec_name"`
	Profile    string `json:"profile"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	RFrameRate string `json:"r_frame_rate"`
	SampleRate string `json:"sample_rate"`
	Channels   int    `json:"channels"`
	NbFrames   string `json:"nb_read_frames"`
	StartTime  string `json:"start_time"`
}

// Frames is the number of frames ffprobe counted.
func (s Stream) Frames() int {
	n, _ := strconv.Atoi(s.NbFrames)
	return n
}

// Start is the stream's start time in seconds.
func (s Stream) Start() float64 {
	v, _ := strconv.ParseFloat(s.StartTime, 64)
	return v
}

// Probe runs ffprobe -count_frames on a file and returns its streams by
// type ("video", "audio").
func Probe(t testing.TB, path string) map[string]Stream {
	t.Helper()
	out, err := exec.Command(NeedTool(t, "ffprobe"), "-v", "error", "-count_frames", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct{ Streams []Stream }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	m := map[string]Stream{}
	for _, s := range res.Streams {
		m[s.CodecType] = s
	}
	return m
}

// FirstVideoFrameIsKey reports whether the first video frame in a file is a
// keyframe, as ffprobe decodes it.
func FirstVideoFrameIsKey(t testing.TB, path string) bool {
	t.Helper()
	out, err := exec.Command(NeedTool(t, "ffprobe"), "-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame",
		"-read_intervals", "%+#1", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return bytes.HasPrefix(bytes.TrimSpace(out), []byte("1"))
}

// WaitTCPListen waits until something listens on the TCP port, without
// connecting (ffmpeg -listen takes exactly one connection, so a probe would
// use it up). It reads /proc/net/tcp{,6}; 0A is the LISTEN state. A
// connection already accepted on the port (01, ESTABLISHED, with the port
// as its local one) counts too: ffmpeg -listen 1 closes its listening
// socket as soon as it accepts, so a client that is already retrying (a
// publisher reconnecting to a restarted receiver) can take the listener
// between two polls, and waiting for LISTEN alone would then wait forever.
func WaitTCPListen(t testing.TB, port int, d time.Duration) {
	t.Helper()
	waitProcNet(t, "tcp", port, d, func(state string) bool { return state == "0A" || state == "01" })
}

// WaitUDPBound waits until a UDP socket is bound to the port (an SRT
// listener is up), reading /proc/net/udp{,6}.
func WaitUDPBound(t testing.TB, port int, d time.Duration) {
	t.Helper()
	waitProcNet(t, "udp", port, d, func(string) bool { return true })
}

// waitProcNet polls /proc/net/PROTO{,6} for a socket on local port whose
// state (hex) satisfies ok.
func waitProcNet(t testing.TB, proto string, port int, d time.Duration, ok func(state string) bool) {
	t.Helper()
	hexPort := fmt.Sprintf(":%04X", port)
	deadline := time.Now().Add(d)
	for {
		for _, f := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				// local_address is field 1, state field 3.
				if fields := strings.Fields(line); len(fields) > 3 && strings.HasSuffix(fields[1], hexPort) && ok(fields[3]) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing on %s port %d after %v", proto, port, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

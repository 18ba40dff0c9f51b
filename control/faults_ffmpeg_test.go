package control

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// The fault matrix (faults_test.go) with ffmpeg as the publisher, for the
// issue's "glassagent beside ffmpeg publishing the same content over the
// same impaired path": the same receivers, the same nftables loss and
// outage on the receiver's port, the same restart, the same figures.
// ffmpeg publishes 720p30 with libx264 (veryfast, zerolatency, 1.5 Mbit/s:
// glassagent's configured target) and AAC. It writes no capture-time SEI,
// so its PTS are made the capture schedule: the test picks an epoch,
// ffmpeg's filters add to every timestamp the time from that epoch to
// when its filtering began (RTCSTART), and -re paces the source in real
// time from then, as a camera would deliver it; the receivers take
// epoch + PTS as the capture time. A frame ffmpeg is late to send
// (its TCP socket blocked) is late by capture time too, as glassagent's.
// ffmpeg does not adapt and does not reconnect: after the receiver
// restarts it has exited, which its row shows ("frames again" -).
//
// Run by scripts/bench-faults.sh (GLASSAGENT_FFMPEG_FAULTS=1), not by
// make test: they are figures beside glassagent's, not glassagent's
// behaviour. Asserted all the same: every rule dropped packets, and every
// frame that arrived had its capture time (else the figures measure
// nothing).
func TestFaultsFFmpegSRT(t *testing.T) {
	if !ffmpegFaults(t, "TestFaultsFFmpegSRT") {
		return
	}
	port := mediatest.FreeUDPPort(t)
	log := &frameLog{ptsEpoch: time.UnixMicro(time.Now().UnixMicro())}
	rxs := []*srtFaultRx{startSRTFaultRx(t, port, log, t.TempDir())}
	defer func() {
		for _, r := range rxs {
			r.kill()
		}
	}()
	var counts srtCounts // of the receivers killed
	f := &faultRun{t: t, label: "SRT, ffmpeg", proto: "udp", port: port, log: log,
		srt: func() srtCounts {
			c := rxs[len(rxs)-1].counts()
			c.addCounts(counts)
			return c
		},
		restart: func() {
			rxs[len(rxs)-1].kill()
			counts.addCounts(rxs[len(rxs)-1].counts())
			time.Sleep(faultRestart)
			rxs = append(rxs, startSRTFaultRx(t, port, log, t.TempDir()))
		},
	}
	// ffmpeg's SRT latency is in µs: 200 ms, as glassagent's matrix.
	f.runFFmpeg(fmt.Sprintf("srt://127.0.0.1:%d?latency=200000", port), "mpegts")
}

func TestFaultsFFmpegRTMP(t *testing.T) {
	if !ffmpegFaults(t, "TestFaultsFFmpegRTMP") {
		return
	}
	port := mediatest.FreeTCPPort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/fault-key", port)
	dir := t.TempDir()
	log := &frameLog{ptsEpoch: time.UnixMicro(time.Now().UnixMicro())}
	n := 0
	listen := func() *flvFaultRx {
		n++
		r := startFLVFaultRx(t, url, log, filepath.Join(dir, fmt.Sprintf("rtmp-%d.flv", n)))
		mediatest.WaitTCPListen(t, port, 20*time.Second)
		return r
	}
	rx := listen()
	defer func() { rx.kill() }()
	f := &faultRun{t: t, label: "RTMP, ffmpeg", proto: "tcp", port: port, log: log,
		restart: func() {
			rx.kill()
			time.Sleep(faultRestart)
			rx = listen()
		},
	}
	f.runFFmpeg(url, "flv")
}

// ffmpegFaults says whether this run is the ffmpeg fault matrix's, in
// its network namespace.
func ffmpegFaults(t *testing.T, name string) bool {
	if os.Getenv("GLASSAGENT_FFMPEG_FAULTS") != "1" {
		t.Skip("ffmpeg's figures beside glassagent's: GLASSAGENT_FFMPEG_FAULTS=1 (scripts/bench-faults.sh) runs them")
	}
	if testing.Short() {
		t.Skip("fault test skipped in -short mode")
	}
	mediatest.NeedTool(t, "ffmpeg")
	mediatest.NeedTool(t, "ffprobe")
	if !whiptest.InNetns(t, name) {
		return false
	}
	whiptest.EthernetLoopback(t)
	return true
}

// runFFmpeg publishes to url (muxer format) with ffmpeg through the matrix.
func (f *faultRun) runFFmpeg(url, format string) {
	t := f.t
	// Nothing to recover to (ffmpeg never lowers its rate), so no waiting
	// for it, and a sender that is gone is reported, not failed.
	f.settleMax, f.lenient = faultSettleMin, true
	epoch := f.log.ptsEpoch.UnixMicro()
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		// Timestamps: the source's schedule plus the time from the epoch
		// to the start of filtering, in a 90 kHz time base kept by the
		// encoder (else rounded to 1/30 s) and passed through as they are.
		"-vf", fmt.Sprintf("settb=1/90000,setpts='PTS+(RTCSTART-%d)*0.09'", epoch),
		"-af", fmt.Sprintf("asetpts='PTS+(RTCSTART-%d)*0.048'", epoch),
		"-fps_mode", "passthrough", "-enc_time_base:v", "1:90000",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
		"-b:v", "1500k", "-maxrate", "1500k", "-bufsize", "1500k", "-g", "30", "-bf", "0", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "32k", "-ac", "1",
		"-muxdelay", "0", "-muxpreload", "0", "-f", format, url}
	s := startFFmpegSender(t, args)
	defer s.stop()
	f.snd = s
	deadline := time.Now().Add(20 * time.Second)
	for n, _, _ := f.log.counts(); n < 30; n, _, _ = f.log.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("no frames from ffmpeg within 20 s (%d); ffmpeg: %s", n, s.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	fr := f.log.captured(f.log.ptsEpoch, time.Now())
	if len(fr) == 0 {
		t.Fatalf("ffmpeg's frames carry no capture time after the epoch")
	}
	// Timestamps that are not the capture schedule (a muxer's offset, a
	// start moved to 0) would show here: frames arriving before they were
	// captured, or seconds after.
	if d := fr[0].arrived.Sub(fr[0].captured); d < 0 || d > 2*time.Second {
		t.Fatalf("ffmpeg's first frame arrived %v after its capture time: its timestamps are not the capture schedule", d)
	}
	s.setFirst(fr[0].captured)
	f.matrix()
	s.stop()
	withTime, without, _ := f.log.counts()
	if without > 0 {
		t.Errorf("%d of %d intact frames arrived without a capture time: the figures need it on every frame", without, withTime+without)
	}
	f.logTable(fmt.Sprintf("ffmpeg, %s (libx264 1.5 Mbit/s, no adaptation, no reconnection)", f.proto))
}

// ffmpegSender is ffmpeg publishing, as a faultSender: no stats; active
// while it runs; its frames encoded by the schedule -re keeps.
type ffmpegSender struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	started time.Time // when it was started
	exited  time.Time // when it exited; zero while it runs
	err     error
	first   time.Time // the first frame's capture time, when encoded was first read
}

func startFFmpegSender(t *testing.T, args []string) *ffmpegSender {
	t.Helper()
	s := &ffmpegSender{stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command("ffmpeg", args...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.started = time.Now()
	go func() {
		err := s.cmd.Wait()
		s.mu.Lock()
		s.exited, s.err = time.Now(), err
		s.mu.Unlock()
		close(s.done)
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *ffmpegSender) stop() {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
}

func (s *ffmpegSender) stats() (Stats, Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exited.IsZero() {
		return Stats{}, StatusActive
	}
	return Stats{}, StatusStopped
}

// encoded counts the frames of ffmpeg's schedule up to now (or to when
// it exited): -re hands the encoder 30 a second, as a camera would, and
// the frames of a blocked socket are sent late, not dropped.
func (s *ffmpegSender) encoded() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first.IsZero() {
		return 0, false
	}
	end := time.Now()
	if !s.exited.IsZero() {
		end = s.exited
	}
	return uint64(end.Sub(s.first).Seconds()*30) + 1, true
}

// setFirst notes the first frame's capture time (from the receivers' log).
func (s *ffmpegSender) setFirst(t time.Time) {
	s.mu.Lock()
	s.first = t
	s.mu.Unlock()
}

func (s *ffmpegSender) statuses(since time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exited.IsZero() {
		return "running"
	}
	msg := "exited"
	if s.err != nil {
		msg = "exited (" + s.err.Error() + ")"
	}
	if e := strings.TrimSpace(s.stderr.String()); e != "" {
		msg += ": " + strings.ReplaceAll(lastLine(e), "|", "/")
	}
	return "running>" + msg
}

// lastLine is the last line of s.
func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

package control

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestAdaptToBandwidthCut streams over SRT inside a network namespace of its
// own, cuts the uplink (the media towards the receiver; its ACKs come back
// unshaped) to half of what the stream sends, and lifts the cut again. The
// bitrate controller must bring the encoder below the new capacity, and,
// since at 720p openh264 does not go much below 330 kbit/s on the test
// pattern whatever it is asked (its QP stops at 42, frame skipping is off),
// the resolution ladder must step the picture down so that what is sent
// fits too; after the lift it climbs back. Asserted: below the new capacity
// within 3 s and no freeze over 1 s (the targets; 0.5-0.9 s and
// 0.13-0.60 s in the 16 runs since the step down's keyframe is paced), the
// stream never leaves active, the receiver decodes a smaller size after
// the cut and the ladder steps back up after the lift. Frames delivered
// (98-99 %), decoder errors and the time to climb back are logged. What it
// takes (NOTES.md): the receiver's rate from its ACKs, so the first cut
// comes on the first sample that shows a queue and goes straight to what
// the link carries, the ladder to its rung in one keyframe; a gosrt that
// does not resend a packet for every NAK report that lists it, gives up
// what would arrive too late, and abandons the repairs before a keyframe
// on the full link (third_party/gosrt); that keyframe written at under
// the receiver's rate, so the full bottleneck queue takes it rather than
// dropping it whole.
func TestAdaptToBandwidthCut(t *testing.T) {
	if !adaptInNetns(t, "TestAdaptToBandwidthCut") {
		return
	}
	adaptToCutSRT(t, cutShape{})
}

// TestAdaptToBandwidthCut4to1 is the cut over SRT: a 4 Mbit/s
// uplink (htb, 200 ms of queue) carrying 3.4 Mbit/s of the noisy camera
// drops to 1 Mbit/s for 9 s and comes back to 4. Asserted as the half
// cut (below the cut link within 3 s: 0.5 s; no freeze over 1 s: 0.17 s;
// the target doubled after the lift: 7.5 s; latency back), the ladder
// logged, not asserted: a 1 Mbit/s link may leave 720p room enough (it
// went to 540p30 and back in 23 s).
func TestAdaptToBandwidthCut4to1(t *testing.T) {
	if !adaptInNetns(t, "TestAdaptToBandwidthCut4to1") {
		return
	}
	adaptToCutSRT(t, cut4to1)
}

func adaptToCutSRT(t *testing.T, sh cutShape) {
	whiptest.EthernetLoopback(t)
	log := &frameLog{}
	rx := startSRTLiveRx(t, log)
	// SRT's latency must cover the queueing the cut link adds (up to 200
	// ms) and a retransmission, or the receiver drops what arrives late
	// whatever the sender does: 400 ms.
	adaptToCut(t, fmt.Sprintf("srt://127.0.0.1:%d?latency=400", rx.port), uplink{"udp", rx.port}, rx.file, 1, true, func() { rx.wait(10 * time.Second) }, log, sh)
}

// srtLiveRx is srt-live-transmit as the SRT listener (libsrt: its ACKs
// carry the receiving rate the controller's first cut goes by), its
// output read by the test as it comes, to log each frame's arrival and
// capture-time SEI, and written to a file for ffprobe.
type srtLiveRx struct {
	port int
	file string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

func startSRTLiveRx(t *testing.T, log *frameLog) *srtLiveRx {
	t.Helper()
	r := &srtLiveRx{port: mediatest.FreeUDPPort(t), file: filepath.Join(t.TempDir(), "rx.ts"), done: make(chan struct{})}
	r.cmd = exec.Command(mediatest.NeedTool(t, "srt-live-transmit"), "-q", fmt.Sprintf("srt://:%d?mode=listener", r.port), "file://con")
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(r.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		defer f.Close()
		v := &tsVideo{log: log, pid: -1, cc: map[uint16]byte{}, fn: &frameNums{}}
		buf := make([]byte, 64<<10)
		var rest []byte // a pipe read need not end on a TS packet
		for {
			n, err := out.Read(buf)
			if n > 0 {
				now := time.Now()
				f.Write(buf[:n])
				rest = append(rest, buf[:n]...)
				i := 0
				for ; len(rest)-i >= 188; i += 188 {
					v.packet(rest[i:i+188], now)
				}
				rest = append(rest[:0], rest[i:]...)
			}
			if err != nil {
				v.finish(time.Now())
				return
			}
		}
	}()
	mediatest.WaitUDPBound(t, r.port, 20*time.Second)
	t.Cleanup(r.kill)
	return r
}

// wait waits up to d for srt-live-transmit to end by itself (the
// publisher left), then kills it; the recording is complete after it.
func (r *srtLiveRx) wait(d time.Duration) {
	select {
	case <-r.done:
	case <-time.After(d):
	}
	r.kill()
}

func (r *srtLiveRx) kill() {
	r.once.Do(func() {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd.Wait()
	})
}

// TestAdaptToBandwidthCutRTMP is the same over RTMP (TCP) into ffmpeg: the
// signals are the socket's write latency and a send rate behind the
// encoder, as RTMP reports no RTT or loss.
func TestAdaptToBandwidthCutRTMP(t *testing.T) {
	extraCut(t)
	if !adaptInNetns(t, "TestAdaptToBandwidthCutRTMP") {
		return
	}
	adaptToCutRTMP(t, false, true, cutShape{})
}

// adaptToCutRTMP runs adaptToCut into an ffmpeg RTMP listener; uplinkOnly
// cuts the media direction only, else the whole loopback.
func adaptToCutRTMP(t *testing.T, uplinkOnly, climb bool, sh cutShape) {
	whiptest.EthernetLoopback(t)
	port := mediatest.FreeTCPPort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/adapt-key", port)
	rec := filepath.Join(t.TempDir(), "rx.flv")
	log := &frameLog{}
	rx := startFLVFaultRx(t, url, log, rec)
	mediatest.WaitTCPListen(t, port, 20*time.Second)
	up := uplink{}
	if uplinkOnly {
		up = uplink{"tcp", port}
	}
	adaptToCut(t, url, up, rec, 1, climb, func() { rx.wait(10 * time.Second) }, log, sh)
}

// TestAdaptToBandwidthCut4to1RTMP is the cut over RTMP, the whole
// loopback a 4 Mbit/s tbf that drops to 1 Mbit/s and comes back; asserted
// as TestAdaptToBandwidthCut4to1 (below the link in 0.4 s, freeze 0.03 s,
// 100 % of the frames).
func TestAdaptToBandwidthCut4to1RTMP(t *testing.T) {
	if !adaptInNetns(t, "TestAdaptToBandwidthCut4to1RTMP") {
		return
	}
	adaptToCutRTMP(t, false, true, cut4to1)
}

// TestAdaptToBandwidthCutRTMPUplink cuts the media direction only, as a
// fading glasses uplink does: TCP's ACKs come back unshaped, and the
// socket's 256 KB send buffer takes writes at full rate for seconds (9 s
// of the cut link), so no write blocks. What shows the cut is the kernel's
// view of the socket (TCP_INFO: the delivery rate and the bytes queued,
// read by publish/rtmp). Asserted as the whole-loopback cut, the climb
// back included (doubled in 8-12 s, a rung up in 16-22 s). It used to stall
// at 360p15 in about one run of three: the send and encoder rates swung
// against each other by a tenth of a second's bytes, which was the rate
// meter's ring dropping the second's first bucket (media.RateMeter).
func TestAdaptToBandwidthCutRTMPUplink(t *testing.T) {
	extraCut(t)
	if !adaptInNetns(t, "TestAdaptToBandwidthCutRTMPUplink") {
		return
	}
	adaptToCutRTMP(t, true, true, cutShape{})
}

// extraCut skips a cut test that the others cover, unless
// GLASSAGENT_ALL_CUTS=1 (scripts/bench-faults.sh sets it): `make test`
// must stay under 15 minutes on 2 cores, and the RTMP half cuts (the whole
// loopback and the uplink, 30 s each) assert what TestAdaptToBandwidthCut4to1RTMP
// (below the link within 3 s, no freeze over 1 s over RTMP) and
// TestAdaptToBandwidthCut (the ladder down and back up) already do, and
// TestTCPPath (publish/rtmp) checks the TCP_INFO reading the uplink cut
// depends on.
func extraCut(t *testing.T) {
	if os.Getenv("GLASSAGENT_ALL_CUTS") != "1" {
		t.Skip("covered by the other cut tests; GLASSAGENT_ALL_CUTS=1 runs it (make bench-faults does)")
	}
}

func adaptInNetns(t *testing.T, name string) bool {
	if testing.Short() {
		t.Skip("bandwidth test skipped in -short mode")
	}
	if !encode.SoftwareH264Available {
		t.Skip("needs the software H.264 encoder (cgo)")
	}
	return whiptest.InNetns(t, name)
}

// recoveryWait is how long the fault tests wait, at most, for the stream
// to be back at full bitrate after a fault: GLASSAGENT_RECOVERY_WAIT (a
// duration; scripts/bench-faults.sh sets it), else 0: each test's own
// bound, which `make test` can afford and full recovery does not fit
// (a ceiling learnt at a fault holds 30 s to 2 min).
func recoveryWait(t *testing.T) time.Duration {
	v := os.Getenv("GLASSAGENT_RECOVERY_WAIT")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		t.Fatalf("GLASSAGENT_RECOVERY_WAIT=%q: want a duration such as 4m (%v)", v, err)
	}
	return d
}

// uplink is the flow a cut shapes: the media towards the receiver's port;
// the zero value shapes the whole loopback.
type uplink struct {
	proto string // "udp" or "tcp"
	port  int
}

// cut limits the uplink to rate bit/s with 200 ms of queue at the
// bottleneck (a byte FIFO: what does not fit is dropped), as tbf would, but
// the one direction only: htb with a u32 filter on the receiver's port
// (network-faults.md). The glasses' uplink is what fades; the feedback
// coming back (SRT's ACKs every 10 ms, TCP's ACKs, RTCP) travels the other
// way, and shaping the whole loopback made SRT's ACKs and their ACKACKs
// take 90 kbit/s of a 240 kbit/s cut link, which no real path does. The
// zero uplink cuts the whole loopback with tbf (as RTMP's and WHIP's cut
// tests were measured).
func (u uplink) cut(t *testing.T, rate int) {
	t.Helper()
	if u.port == 0 {
		whiptest.Sh(t, "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", fmt.Sprintf("%dbit", rate), "burst", "32kbit", "latency", "200ms")
		return
	}
	whiptest.ShapePort(t, u.proto, u.port, rate, max(rate/8/5, 3000)) // 200 ms of the cut rate, at least two packets
}

// change sets the rate of a link cut already, keeping what it queues.
func (u uplink) change(t *testing.T, rate int) {
	t.Helper()
	if u.port == 0 {
		whiptest.Sh(t, "tc", "qdisc", "change", "dev", "lo", "root", "tbf", "rate", fmt.Sprintf("%dbit", rate), "burst", "32kbit", "latency", "200ms")
		return
	}
	whiptest.ReshapePort(t, rate, max(rate/8/5, 3000))
}

// cutShape is what a cut test streams and how its link changes; the zero
// value is the half cut: the clean test pattern at 1.5 Mbit/s (of which
// openh264 makes about 0.5), an unshaped link cut to half of what the
// stream sends, the ladder asserted down and back up.
type cutShape struct {
	camera  string // "" is "test"
	bitrate int    // the stream's video bitrate, 0: 1.5 Mbit/s
	// link is the link's rate before the cut and after it ends (0:
	// unshaped), to the rate of the cut (0: half of what the stream sends).
	link, to int
	// ladderLogged: the ladder's steps are logged, not asserted (a cut
	// may leave room enough for the stream's own size).
	ladderLogged bool
}

// cut4to1 is the cut: a 4 Mbit/s link that drops to 1 Mbit/s and
// comes back, under a stream that fills most of it (3.2 Mbit/s of video on
// the noisy camera, which openh264 spends in full: about 3.5 Mbit/s sent).
var cut4to1 = cutShape{camera: "test:noise", bitrate: 3_200_000, link: 4_000_000, to: 1_000_000, ladderLogged: true}

func (u uplink) lift(t *testing.T) {
	t.Helper()
	whiptest.Sh(t, "tc", "qdisc", "del", "dev", "lo", "root")
}

// adaptToCut runs one stream to url through a cut of its uplink and the
// cut's end; recording is what the receiver wrote, complete once
// receiverDone returns; the longest freeze the receiver decodes must be
// maxFreeze seconds at most (0: logged only); climb: the climb back after
// the lift is asserted (else logged, over 30 s); log is the receiver's
// log of each frame's arrival and capture time, for the
// capture-to-arrival latency before, during and after the cut.
func adaptToCut(t *testing.T, url string, up uplink, recording string, maxFreeze float64, climb bool, receiverDone func(), log *frameLog, sh cutShape) {
	cfg := testConfig()
	cfg.Video = VideoConfig{Width: 1280, Height: 720, Bitrate: 1_500_000, FrameRate: 30}
	if sh.bitrate > 0 {
		cfg.Video.Bitrate = sh.bitrate
	}
	if sh.camera != "" {
		cfg.Camera = sh.camera
	}
	if sh.link > 0 {
		up.cut(t, sh.link)
	}
	cfg.Audio = AudioConfig{Bitrate: 32_000, SampleRate: 48000}
	// The ladder's smallest rung (426x240 at 15 fps) at 50 kbit/s: the
	// cut leaves the video little more once audio and muxing are paid.
	cfg.Adapt.MinBitrate = 50_000
	m := NewManager(cfg, Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	stats := func() Stats {
		l := m.List()
		if len(l) == 0 || l[0].Stats == nil {
			var msgs []string
			for _, e := range ev.all(s.StreamID) {
				if e.Message != "" {
					msgs = append(msgs, string(e.Status)+": "+e.Message)
				}
			}
			t.Fatalf("the stream is gone or not active: %+v\nevents:\n%s", l, strings.Join(msgs, "\n"))
		}
		return *l[0].Stats
	}
	time.Sleep(6 * time.Second)
	base := stats()
	// Half of what the stream sends, audio and headers included (the
	// issue's cut). The software encoder makes far less than its target
	// on the test pattern, and MPEG-TS over SRT costs about 100 kbit/s
	// of its own at 30 fps with AAC, so this leaves the video about 100
	// kbit/s: less than openh264 makes at 720p at its coarsest.
	limit := base.Bitrate * 5 / 10
	linkText := "unlimited"
	if sh.link > 0 {
		limit, linkText = sh.to, fmt.Sprintf("at %d bit/s", sh.link)
	}
	t.Logf("%s: sending %d bit/s, video target %d (%s), %s at %d fps", linkText, base.Bitrate, base.VideoBitrate, base.BitrateReason, base.Resolution, base.FrameRate)
	if base.Resolution != "1280x720" {
		t.Fatalf("before the cut the stream is at %s, not its own 1280x720", base.Resolution)
	}
	if sh.link > 0 {
		// The stream must fill most of the link, or the cut tests nothing
		// the half cut does not.
		if base.Bitrate < sh.link*3/4 || base.Bitrate > sh.link {
			t.Fatalf("before the cut the stream sends %d bit/s on the %d bit/s link: want three quarters of it or more, and no more than it", base.Bitrate, sh.link)
		}
		up.change(t, limit)
	} else {
		up.cut(t, limit)
	}
	cut := time.Now()
	var adapted time.Duration
	for i := 1; time.Since(cut) < 15*time.Second; i++ {
		time.Sleep(100 * time.Millisecond)
		st := stats()
		if i%5 == 0 {
			t.Logf("%3.1f s after the cut: sending %d bit/s, video target %d (%s), RTT %.1f ms, loss %.3f, %s at %d fps (%s)",
				time.Since(cut).Seconds(), st.Bitrate, st.VideoBitrate, st.BitrateReason, st.RTTMs, st.Loss, st.Resolution, st.FrameRate, st.LadderReason)
		}
		// The video target plus the audio must fit the link.
		if st.VideoBitrate+cfg.Audio.Bitrate < limit {
			adapted = time.Since(cut)
			t.Logf("below the %d bit/s limit after %v: video target %d (%s)", limit, adapted.Round(10*time.Millisecond), st.VideoBitrate, st.BitrateReason)
			break
		}
	}
	if adapted == 0 {
		t.Fatalf("the video target never went below the %d bit/s limit: %+v", limit, stats())
	}
	if adapted > 3*time.Second {
		t.Errorf("took %v to adapt below the new capacity, want 3 s at most", adapted.Round(10*time.Millisecond))
	}
	// Under the cut for 8 s more, the stream's course logged each second.
	for held := time.Now(); time.Since(held) < 8*time.Second; {
		time.Sleep(time.Second)
		st := stats()
		t.Logf("%3.1f s after the cut: sending %d bit/s, video target %d (%s), RTT %.1f ms, loss %.3f, dropped %d, %s at %d fps (%s)",
			time.Since(cut).Seconds(), st.Bitrate, st.VideoBitrate, st.BitrateReason, st.RTTMs, st.Loss, st.DroppedFrames, st.Resolution, st.FrameRate, st.LadderReason)
	}
	low := stats()
	t.Logf("limited: sending %d bit/s, video target %d, RTT %.1f ms, dropped %d, %s at %d fps (%s)", low.Bitrate, low.VideoBitrate, low.RTTMs, low.DroppedFrames,
		low.Resolution, low.FrameRate, low.LadderReason)
	if !sh.ladderLogged && low.Resolution == base.Resolution && low.FrameRate == base.FrameRate {
		t.Errorf("under the cut the stream stayed at %s at %d fps: the ladder did not step down", low.Resolution, low.FrameRate)
	}
	// What the bottleneck passed and dropped under the cut: whether the
	// stream, its feedback and its repeats still overfill it.
	if out, err := exec.Command("tc", "-s", "qdisc", "show", "dev", "lo").CombinedOutput(); err == nil {
		t.Logf("the cut link's queue before the lift:\n%s", out)
	}
	if sh.link > 0 {
		up.change(t, sh.link)
	} else {
		up.lift(t)
	}
	lifted := time.Now()
	// Recovered: the controller climbs back, to twice where the cut left
	// it at least, and the ladder a rung up at least (both asserted,
	// waited for at most 90 s: the climb is slow on purpose, as a ceiling
	// where congestion struck expires over 30 s to 2 min, and each step up
	// the ladder waits 10 s at 1.5 times the next rung's floor; 38-60 s in
	// the runs so far), and back at the stream's own size (logged if it
	// came by then).
	climbWait := 90 * time.Second
	if !climb {
		climbWait = 30 * time.Second
	}
	// With a recovery wait (scripts/bench-faults.sh), until the stream is
	// back at its own size and the send rate at 90 % of before the cut:
	// the time to full bitrate, which the issue asks for and the suite
	// has no time to wait for.
	full := recoveryWait(t)
	if full > 0 {
		climbWait = max(climbWait, full)
	}
	var climbed, recovered, upAt, rateBack time.Duration
	steppedUp := false
	done := func() bool {
		if full > 0 {
			return climbed > 0 && steppedUp && recovered > 0 && rateBack > 0
		}
		if sh.ladderLogged {
			// The rung up is logged, not waited for: 18-27 s more of
			// the suite's time for what the half cuts assert.
			return climbed > 0
		}
		return climbed > 0 && steppedUp
	}
	for i := 1; time.Since(lifted) < climbWait && !done(); i++ {
		time.Sleep(250 * time.Millisecond)
		st := stats()
		if i%8 == 0 {
			t.Logf("%2.0f s after the lift: sending %d bit/s, video target %d (%s), RTT %.1f ms, loss %.3f, %s at %d fps (%s)",
				time.Since(lifted).Seconds(), st.Bitrate, st.VideoBitrate, st.BitrateReason, st.RTTMs, st.Loss, st.Resolution, st.FrameRate, st.LadderReason)
		}
		if climbed == 0 && st.VideoBitrate >= 2*low.VideoBitrate {
			climbed = time.Since(lifted)
		}
		if !steppedUp && (st.Resolution != low.Resolution || st.FrameRate != low.FrameRate || low.Resolution == base.Resolution && low.FrameRate == base.FrameRate) {
			steppedUp, upAt = true, time.Since(lifted)
		}
		if recovered == 0 && st.Resolution == base.Resolution && st.FrameRate == base.FrameRate {
			recovered = time.Since(lifted)
		}
		// The send rate is a one-second average: the first second after
		// the lift still holds what the cut link passed, and the queue
		// it drains.
		if rateBack == 0 && time.Since(lifted) > time.Second && st.Bitrate >= base.Bitrate*9/10 {
			rateBack = time.Since(lifted)
		}
	}
	if climb && climbed == 0 {
		t.Errorf("%v after the limit was lifted the video target is %d, not above twice the %d the cut left", climbWait, stats().VideoBitrate, low.VideoBitrate)
	}
	if climb && !steppedUp && !sh.ladderLogged {
		t.Errorf("%v after the limit was lifted the stream is still at %s at %d fps: the ladder did not step up", climbWait, low.Resolution, low.FrameRate)
	}
	t.Logf("after the limit was lifted: video target doubled in %v, a rung up in %v, back at %s in %v, send rate back to 90 %% of before in %v (0: not within the %v wait)",
		climbed.Round(10*time.Millisecond), upAt.Round(10*time.Millisecond), base.Resolution, recovered.Round(10*time.Millisecond),
		rateBack.Round(10*time.Millisecond), climbWait)
	m.mu.Lock()
	encoded := m.cur.pl.Stats().FramesEncoded
	m.mu.Unlock()
	stopped := time.Now()
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
	receiverDone()
	// Capture to arrival (the frames' capture-time SEI), of the frames
	// captured in the 5 s before the cut, under it, and from the lift to
	// the stop. Asserted: the queues the cut stood drain, so after the
	// lift the median is back within 150 ms of before (RTMP and WHIP came
	// back within 3 ms; SRT sat 67-68 ms over in three runs of three, not
	// looked into yet: its receiver plays out on a schedule of its own).
	t.Logf("capture-to-arrival latency p50/p95 ms: before the cut %s, during it %s, after the lift %s",
		log.latencyText(cut.Add(-5*time.Second), cut), log.latencyText(cut, lifted), log.latencyText(lifted, stopped))
	before, _, okBefore := log.latency(cut.Add(-5*time.Second), cut)
	after, _, okAfter := log.latency(lifted, stopped)
	switch {
	case !okBefore || !okAfter:
		t.Errorf("the receiver logged no frame with a capture time before the cut (%v) or after the lift (%v)", okBefore, okAfter)
	case after > before+150*time.Millisecond:
		t.Errorf("after the lift the median capture-to-arrival latency is %v, %v before the cut: a queue is left", after, before)
	}
	frames, errs := decodeFrames(t, recording)
	var freeze, freezeAt float64
	sizes := []string{}
	for i, f := range frames {
		if i > 0 && f.pts-frames[i-1].pts > freeze {
			freeze, freezeAt = f.pts-frames[i-1].pts, frames[i-1].pts-frames[0].pts
		}
		if len(sizes) == 0 || sizes[len(sizes)-1] != f.size {
			sizes = append(sizes, f.size)
		}
	}
	span := frames[len(frames)-1].pts - frames[0].pts
	t.Logf("delivered %d frames over %.1f s (%d encoded: %.1f%%), longest freeze %.2f s (%.1f s into the recording), %d decoder errors; sizes decoded in turn: %s",
		len(frames), span, encoded, 100*float64(len(frames))/float64(encoded), freeze, freezeAt, errs, strings.Join(sizes, " "))
	if maxFreeze > 0 && freeze > maxFreeze {
		t.Errorf("longest freeze %.2f s, want %.1f s at most", freeze, maxFreeze)
	}
	if sizes[0] != "1280x720" || !sh.ladderLogged && len(sizes) < 2 {
		t.Errorf("the receiver decoded %v: want 1280x720 first and a smaller size after the cut", sizes)
	}
	for _, e := range ev.all(s.StreamID) {
		if e.Status == StatusReconnecting || e.Status == StatusError {
			t.Errorf("the stream went %s: %s", e.Status, e.Message)
		}
	}
}

// decoded is one frame as the receiver's decoder gave it.
type decoded struct {
	pts  float64
	size string // "1280x720"
}

// decodeFrames decodes a recording (ffprobe, every frame) and returns its
// frames in order with their size, and the decoder's complaints counted as
// decodeErrors does.
func decodeFrames(t *testing.T, path string) ([]decoded, int) {
	t.Helper()
	cmd := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time,width,height",
		"-of", "csv=p=0", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, stderr.String())
	}
	var frames []decoded
	for _, l := range strings.Fields(string(out)) {
		// pts_time,width,height (ffprobe's order of the entries).
		p := strings.Split(strings.TrimSuffix(l, ","), ",")
		if len(p) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(p[0], 64)
		if err != nil {
			continue
		}
		frames = append(frames, decoded{pts: v, size: p[1] + "x" + p[2]})
	}
	if len(frames) < 2 {
		t.Fatalf("%s: %d frames decoded", path, len(frames))
	}
	return frames, countDecodeErrors(stderr.String())
}

// countDecodeErrors counts what ffmpeg's decoder complains of: frames
// that arrived damaged (lost packets inside them), which timestamps alone
// do not show.
func countDecodeErrors(out string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		l = strings.ToLower(l)
		if strings.Contains(l, "concealing") || strings.Contains(l, "error while decoding") || strings.Contains(l, "corrupt") || strings.Contains(l, "decode_slice") {
			n++
		}
	}
	return n
}

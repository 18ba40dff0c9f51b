package control

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// The fault matrix of issue 8, for SRT and RTMP (WHIP: faults_whip_test.go): a 720p30 stream through
// the real manager, in a network namespace of its own, goes through random
// loss (5 % and 15 % of the packets to the receiver's port, nftables), a
// 3 s outage (everything to that port dropped) and a receiver restart (a
// new receiver on the same port 2 s later), one after the other. For each
// the test logs one line: of the frames sent during the fault, how many
// arrived and how many of those intact (no TS packet missing). The frames
// sent are counted from the frame_num of what arrived (a gap is a frame
// lost on the way); where frame_num jumps back, from the encoder's count
// over the window (read at its edges, so within a frame or two). Then
// the same of 30 fps (the synthetic source itself loses frames when the
// CPU is short, as under -race on 2 cores); the longest freeze, by capture
// time (as PTS gaps in a recording) and by arrival (what a player shows);
// capture-to-arrival latency p50/p95 before, during and after the fault
// (from the capture-time SEI of every frame); when the bitrate controller
// moved the video target down, when the send rate was back to 90 % of the
// unfaulted one and the video target back where it was; when frames
// captured after the fault arrived; the statuses the stream went through;
// and, for SRT, the receiver's packets lost, retransmitted and given up.
//
// Asserted: with 5 % loss on SRT at 200 ms latency at least 99 % of the
// frames sent during the loss arrive intact (the target), and
// under random loss on each transport a share intact (SRT 15 %: 95 %;
// RTMP 99 and 95 %; WHIP 95 and 90 %) and no freeze over 1 s; after
// every fault the median capture-to-arrival latency is back within 150
// ms of before (no queue is left); the stream never goes to error; after
// every fault it is active again and frames captured after the fault
// arrive within 15 s; every intact frame carries its capture time (else
// the figures would measure nothing); each nftables rule did drop packets
// (else the fault never happened). Not asserted: what the outage and the
// restart cost while they last (logged: no transport can deliver through
// them), and how fast the
// controller reacts or recovers (the ceiling a fault leaves expires over
// 30 s to 2 min, longer than this test waits).
const (
	faultLoss      = 10 * time.Second // how long random loss lasts
	faultOutage    = 3 * time.Second  // how long everything is dropped
	faultRestart   = 2 * time.Second  // how long the receiver is away
	faultBefore    = 3 * time.Second  // latency window before a fault
	faultSettleMin = 6 * time.Second  // observed after a fault, at least
	faultSettleMax = 8 * time.Second  // and at most, waiting for the send rate (unless GLASSAGENT_RECOVERY_WAIT; 12 s cost make test 48 s)
	faultBackBound = 15 * time.Second // frames must flow again within this
)

func TestFaultsSRT(t *testing.T) {
	if !adaptInNetns(t, "TestFaultsSRT") {
		return
	}
	whiptest.EthernetLoopback(t)
	port := mediatest.FreeUDPPort(t)
	dir := t.TempDir()
	log := &frameLog{}
	rxs := []*srtFaultRx{startSRTFaultRx(t, port, log, dir)}
	defer func() {
		for _, r := range rxs {
			r.kill()
		}
	}()
	var counts srtCounts // of the receivers killed
	f := &faultRun{t: t, label: "SRT, glassagent", proto: "udp", port: port, log: log,
		srt: func() srtCounts {
			c := rxs[len(rxs)-1].counts()
			c.addCounts(counts)
			return c
		},
		restart: func() {
			rxs[len(rxs)-1].kill()
			counts.addCounts(rxs[len(rxs)-1].counts())
			time.Sleep(faultRestart)
			rxs = append(rxs, startSRTFaultRx(t, port, log, dir))
		},
	}
	// 200 ms: the target is stated at that latency.
	f.run(fmt.Sprintf("srt://127.0.0.1:%d?latency=200", port), func() {
		// SRT delivers the last packets a latency late.
		time.Sleep(time.Second)
		rxs[len(rxs)-1].kill()
	})
	var files []string
	for _, r := range rxs {
		files = append(files, r.recordings()...)
	}
	f.logRecordings(files)
	f.assertTarget("5% loss", 0.99) // the target
	f.assertLoss("15% loss", 0.95, time.Second)
	// Random loss is the path's, not congestion: SRT repairs it, and a
	// smaller picture or fewer frames would repair it no better. Asserted
	// at 15 %, where the probe's two seconds hold some fifteen lost
	// packets; at 5 % (five) it takes the loss for congestion about one
	// time in eight when it probes at all (the runs: one in three), which
	// costs what it did before the probe (the table shows it).
	f.assertPathLoss("15% loss")
	f.assertOutageHeld("3 s outage")
}

// assertPathLoss checks that a case left the picture's size and frame
// rate alone and had the video target back where it was by the end of the
// settle after it, 8 s (the controller's probe found the loss the path's;
// before it 15 % random loss over SRT took the stream to 240p15 and Min,
// 56 s to come back). Both are the controller's decisions, not measures
// of the machine's speed: a slow CI machine cannot move them.
func (f *faultRun) assertPathLoss(name string) { f.assertKept(name, "random loss") }

// assertKept checks that case name stepped no rung and had the video
// target back after its last cut within the settle; what says why it
// should have.
func (f *faultRun) assertKept(name, what string) {
	if _, ran := f.resized[name]; !ran && f.some {
		return
	}
	if f.resized[name] {
		f.t.Errorf("%s: the ladder stepped (picture size or frame rate changed); %s should not", name, what)
	}
	if !f.targetBack[name] {
		f.t.Errorf("%s: the video target was not back %v after the fault; %s should leave it", name, f.settleMax, what)
	}
}

// assertOutageHeld checks that an outage, which no bitrate gets through,
// left the bitrate where it was (the receiver's silence holds the
// controller): the video target not cut. The send rate back is logged, not
// asserted: under -race on a busy CI machine the source itself fell to 15
// fps once, and the send rate with it (the runs so far: back in 1.0 s;
// 32 s, from Min, before the silence was read).
func (f *faultRun) assertOutageHeld(name string) {
	if cut, ran := f.cut[name]; !ran && f.some {
		return
	} else if cut {
		f.t.Errorf("%s: the video target was cut; an outage should hold it", name)
	}
}

func TestFaultsRTMP(t *testing.T) {
	if !adaptInNetns(t, "TestFaultsRTMP") {
		return
	}
	mediatest.NeedTool(t, "ffmpeg")
	whiptest.EthernetLoopback(t)
	port := mediatest.FreeTCPPort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/fault-key", port)
	dir := t.TempDir()
	log := &frameLog{}
	var files []string
	listen := func() *flvFaultRx {
		file := filepath.Join(dir, fmt.Sprintf("rtmp-%d.flv", len(files)))
		files = append(files, file)
		r := startFLVFaultRx(t, url, log, file)
		mediatest.WaitTCPListen(t, port, 20*time.Second)
		return r
	}
	rx := listen()
	f := &faultRun{t: t, label: "RTMP, glassagent", proto: "tcp", port: port, log: log,
		restart: func() {
			rx.kill()
			time.Sleep(faultRestart)
			rx = listen()
		},
	}
	f.run(url, func() { rx.wait(10 * time.Second) })
	f.logRecordings(files)
	// TCP repairs everything; what loss costs is time.
	f.assertLoss("5% loss", 0.99, time.Second)
	f.assertLoss("15% loss", 0.95, time.Second)
}

// faultRun is one stream through the fault matrix.
type faultRun struct {
	t *testing.T
	// label names the transport and the sender in the table's header
	// (scripts/fault-table.awk reads it): "SRT, glassagent".
	label   string
	proto   string // what the receiver's port is: udp or tcp
	port    int
	log     *frameLog
	restart func() // kill the receiver, start a new one on the port
	// srt is the SRT receivers' packet counters so far (nil for RTMP).
	srt  func() srtCounts
	srt0 srtCounts // at the start of the case

	snd  faultSender
	base Stats // unfaulted, before the first fault
	// lenient: a sender that does not come back after a fault (ffmpeg)
	// is reported, not failed.
	lenient bool
	// settleMax is how long a case waits, at most, for the send rate and
	// the video target to be back: faultSettleMax, or the recovery wait.
	settleMax time.Duration
	tracing   bool      // GLASSAGENT_FAULT_TRACE
	traced    time.Time // the last trace line
	some      bool      // GLASSAGENT_FAULT_CASES: some cases only, the others not asserted
	rows      []string
	// encoded is the pipeline's count of frames encoded at instants the
	// test noted (a fault's start and end).
	encoded map[time.Time]uint64
	// delivered is each case's share of the frames captured during its
	// fault that arrived.
	delivered map[string]float64
	intact    map[string]float64 // the same without the broken frames
	// freeze is each case's longest freeze by capture time; drained
	// compares its latency after the fault with before (caseLatency).
	freeze map[string]time.Duration
	// cut: the case moved the video target down; resized: it changed
	// the picture's size or frame rate (the ladder stepped), during the
	// fault or after it.
	cut, resized map[string]bool
	rungMoved    bool // in the case running
	// targetBack: the video target was back where it was before the case,
	// after its last cut, within the settle after it (faultSettleMax).
	targetBack map[string]bool
	latency    map[string]caseLatency
}

// caseLatency is a case's capture-to-arrival median before its fault and
// after it; ok false: no frame in one of the two.
type caseLatency struct {
	before, after time.Duration
	ok            bool
}

func (f *faultRun) run(url string, receiverDone func()) {
	t := f.t
	f.settleMax = max(faultSettleMax, recoveryWait(t))
	cfg := testConfig()
	cfg.Video = VideoConfig{Width: 1280, Height: 720, Bitrate: 1_500_000, FrameRate: 30}
	cfg.Audio = AudioConfig{Bitrate: 32_000, SampleRate: 48000}
	cfg.Adapt.MinBitrate = 100_000
	m := NewManager(cfg, Publishers())
	defer m.Close()
	ev, stop := record(m)
	defer stop()
	s, err := m.Start(StartRequest{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	f.snd = &managerSender{t: t, m: m, ev: ev, id: s.StreamID}
	ev.waitFor(t, s.StreamID, StatusActive, 10*time.Second)
	f.matrix()

	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
	receiverDone()
	withSEI, without, brokenNoTime := f.log.counts()
	if withSEI == 0 || without > 0 {
		t.Errorf("%d frames arrived with a capture-time SEI and %d intact ones without: the figures need it on every frame", withSEI, without)
	}
	if brokenNoTime > 0 {
		t.Logf("%d broken frames lost their capture time too (not in the figures)", brokenNoTime)
	}
	for _, e := range ev.all(s.StreamID) {
		if e.Status == StatusError {
			t.Errorf("the stream went to error: %s", e.Message)
		}
	}
	f.assertDrained()
	f.logTable(fmt.Sprintf("%s, unfaulted: sending %d bit/s, video target %d, %.1f fps",
		f.proto, f.base.Bitrate, f.base.VideoBitrate, f.base.FPS))
}

// matrix runs the faults one after the other on a stream that flows.
func (f *faultRun) matrix() {
	t := f.t
	whiptest.Sh(t, "nft", "add", "table", "inet", "faults")
	whiptest.Sh(t, "nft", "add", "chain", "inet", "faults", "out", "{ type filter hook output priority 0; }")
	f.delivered = map[string]float64{}
	f.intact = map[string]float64{}
	f.freeze = map[string]time.Duration{}
	f.cut = map[string]bool{}
	f.resized = map[string]bool{}
	f.targetBack = map[string]bool{}
	f.latency = map[string]caseLatency{}
	f.encoded = map[time.Time]uint64{}
	time.Sleep(6*time.Second - faultBefore)
	f.markSRT()
	b0 := f.encodedNow()
	time.Sleep(faultBefore)
	f.base, _ = f.stats()
	warm := f.encodedNow()
	time.Sleep(time.Second) // the frames of the window's end arrive a latency later
	f.row("none (3 s)", b0, warm, warm, time.Time{}, time.Time{}, time.Time{}, -1, "")

	// GLASSAGENT_FAULT_CASES (a comma-separated list of "5", "15",
	// "outage", "restart") runs some of the cases only, to look into one.
	cases := os.Getenv("GLASSAGENT_FAULT_CASES")
	f.some = cases != ""
	f.tracing = os.Getenv("GLASSAGENT_FAULT_TRACE") != ""
	want := func(c string) bool { return cases == "" || slices.Contains(strings.Split(cases, ","), c) }
	if want("5") {
		f.lossCase("5% loss", 5)
	}
	if want("15") {
		f.lossCase("15% loss", 15)
	}
	if want("outage") {
		f.blockCase("3 s outage", faultOutage)
	}
	if want("restart") {
		f.restartCase()
	}
}

// trace logs the stats once a second while GLASSAGENT_FAULT_TRACE is set:
// what the controller did through a case, to look into one.
func (f *faultRun) trace(name string, since time.Time) {
	if !f.tracing || time.Since(f.traced) < time.Second {
		return
	}
	f.traced = time.Now()
	st, status := f.stats()
	f.t.Logf("trace %s %+.1fs: %s sending %d, target %d (%s), %s@%d (%s), rtt %.1f ms, loss %.3f, dropped %d",
		name, time.Since(since).Seconds(), status, st.Bitrate, st.VideoBitrate, st.BitrateReason,
		st.Resolution, st.FrameRate, st.LadderReason, st.RTTMs, st.Loss, st.DroppedFrames)
}

// logTable logs the matrix's rows under a header saying what was sent.
func (f *faultRun) logTable(sender string) {
	srtHdr := ""
	if f.srt != nil {
		srtHdr = " | SRT receiver: packets lost/retransmitted/dropped as too late"
	}
	f.t.Logf("%s\n"+
		"case (%s) | frames captured during the fault: arrived of sent, intact | the same, of 30 fps (whole case, of 30 fps) | longest freeze, capture | longest gap, arrival | latency p50/p95 ms before / during / after | video target down | send rate back to 90%% | video target back | frames again | statuses | dropped by nftables%s (-: not within the wait)\n%s",
		sender, f.label, srtHdr, strings.Join(f.rows, "\n"))
}

// faultSender is what a fault run publishes with: glassagent's stream
// manager, or ffmpeg beside it (faults_ffmpeg_test.go).
type faultSender interface {
	// stats returns the stats (zero while there are none) and status.
	stats() (Stats, Status)
	// encoded returns how many frames were encoded so far; ok false if
	// that cannot be known now.
	encoded() (n uint64, ok bool)
	// statuses lists the statuses gone through since t, as "a>b".
	statuses(since time.Time) string
}

// managerSender is the stream the manager runs.
type managerSender struct {
	t  *testing.T
	m  *Manager
	ev *recorder
	id string
}

func (s *managerSender) stats() (Stats, Status) {
	l := s.m.List()
	if len(l) == 0 {
		s.t.Fatalf("the stream is gone: events %+v", s.ev.all(s.id))
	}
	if l[0].Stats == nil {
		return Stats{}, l[0].Status
	}
	return *l[0].Stats, l[0].Status
}

func (s *managerSender) encoded() (uint64, bool) {
	s.m.mu.Lock()
	var pl *pipeline.Pipeline
	if s.m.cur != nil {
		pl = s.m.cur.pl
	}
	s.m.mu.Unlock()
	if pl == nil {
		return 0, false
	}
	return pl.Stats().FramesEncoded, true
}

func (s *managerSender) statuses(since time.Time) string {
	var statuses []string
	for _, e := range s.ev.all(s.id) {
		if e.Timestamp.Before(since) {
			continue
		}
		if st := string(e.Status); len(statuses) == 0 || statuses[len(statuses)-1] != st {
			statuses = append(statuses, st)
		}
	}
	return strings.Join(statuses, ">")
}

// stats returns the sender's stats and status now; Stats is zero while
// it has none (reconnecting, or ffmpeg, which reports none).
func (f *faultRun) stats() (Stats, Status) { return f.snd.stats() }

// drop adds the nftables rule that drops pct % of the packets to the
// receiver (all of them at 100), counting what it drops.
func (f *faultRun) drop(pct int) {
	args := []string{"nft", "add", "rule", "inet", "faults", "out", f.proto, "dport", strconv.Itoa(f.port)}
	if pct < 100 {
		args = append(args, "numgen", "random", "mod", "100", "<", strconv.Itoa(pct))
	}
	whiptest.Sh(f.t, append(args, "counter", "drop")...)
}

var nftCounter = regexp.MustCompile(`counter packets (\d+)`)

// undrop deletes the rule and returns how many packets it dropped.
func (f *faultRun) undrop() int {
	out, err := exec.Command("nft", "list", "chain", "inet", "faults", "out").CombinedOutput()
	if err != nil {
		f.t.Fatalf("nft list: %v\n%s", err, out)
	}
	whiptest.Sh(f.t, "nft", "flush", "chain", "inet", "faults", "out")
	n := 0
	for _, m := range nftCounter.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	if n == 0 {
		f.t.Errorf("the nftables rule dropped nothing:\n%s", out)
	}
	return n
}

// watchRung notes a picture size or frame rate other than before the case.
func (f *faultRun) watchRung(pre, st Stats) {
	if st.Resolution != "" && (st.Resolution != pre.Resolution || st.FrameRate != pre.FrameRate) {
		f.rungMoved = true
	}
}

func (f *faultRun) lossCase(name string, pct int) {
	pre, _ := f.stats()
	f.markSRT()
	start := f.encodedNow()
	f.drop(pct)
	adapted := f.watch(start, faultLoss, pre, time.Time{})
	dropped := f.undrop()
	end := f.encodedNow()
	f.settle(name, start, end, pre, adapted, dropped)
}

func (f *faultRun) blockCase(name string, d time.Duration) {
	pre, _ := f.stats()
	f.markSRT()
	start := f.encodedNow()
	f.drop(100)
	adapted := f.watch(start, d, pre, time.Time{})
	dropped := f.undrop()
	end := f.encodedNow()
	f.settle(name, start, end, pre, adapted, dropped)
}

func (f *faultRun) restartCase() {
	pre, _ := f.stats()
	f.markSRT()
	start := f.encodedNow()
	f.restart()
	end := f.encodedNow()
	f.settle("receiver restart", start, end, pre, time.Time{}, -1)
}

// watch polls the stats for d from start and returns when the controller
// first moved the video target down (adapted, if already set, is kept).
func (f *faultRun) watch(start time.Time, d time.Duration, pre Stats, adapted time.Time) time.Time {
	for time.Since(start) < d {
		time.Sleep(100 * time.Millisecond)
		st, _ := f.stats()
		if adapted.IsZero() && st.VideoBitrate > 0 && st.VideoBitrate < pre.VideoBitrate*9/10 {
			adapted = time.Now()
		}
		f.watchRung(pre, st)
		f.trace("fault", start)
	}
	return adapted
}

// settle observes the stream after a fault ended: at least faultSettleMin,
// then until the send rate is back to 90 % of the unfaulted one (at most
// f.settleMax), and until frames flow again (at most faultBackBound,
// which is asserted). Then it logs the case's figures.
func (f *faultRun) settle(name string, start, end time.Time, pre Stats, adapted time.Time, dropped int) {
	var back, target time.Time
	for {
		time.Sleep(100 * time.Millisecond)
		st, status := f.stats()
		if adapted.IsZero() && st.VideoBitrate > 0 && st.VideoBitrate < pre.VideoBitrate*9/10 {
			adapted = time.Now()
		}
		f.watchRung(pre, st)
		f.trace("after", end)
		if back.IsZero() && status == StatusActive && time.Since(end) > time.Second && f.base.Bitrate > 0 && st.Bitrate >= f.base.Bitrate*9/10 {
			back = time.Now()
		}
		if target.IsZero() && status == StatusActive && pre.VideoBitrate > 0 && st.VideoBitrate >= pre.VideoBitrate {
			target = time.Now()
		} else if !target.IsZero() && st.VideoBitrate > 0 && st.VideoBitrate < pre.VideoBitrate {
			// Cut again (a reconnect's first samples once cut a target
			// that was back): back counts from the last cut.
			target = time.Time{}
		}
		again := f.log.firstArrivalCapturedAfter(end)
		active := status == StatusActive
		e := time.Since(end)
		if e >= faultSettleMin && ((!back.IsZero() && !target.IsZero()) || e >= f.settleMax) && !again.IsZero() && active {
			break
		}
		if e >= faultBackBound && (again.IsZero() || !active) {
			if f.lenient {
				break // reported in the row: frames again "-"
			}
			f.t.Errorf("%s: %v after the fault the stream is %s and frames captured since arrived: %v", name, faultBackBound, status, !again.IsZero())
			break
		}
	}
	f.targetBack[name] = !target.IsZero()
	f.row(name, start, end, time.Now(), adapted, back, target, dropped, f.snd.statuses(start))
}

// row logs one case: frames captured in [start, end) (the fault) and in
// [start-faultBefore, caseEnd) (the whole case).
func (f *faultRun) row(name string, start, end, caseEnd, adapted, back, target time.Time, dropped int, statuses string) {
	during := f.log.captured(start, end)
	of30 := float64(len(during)) / (30 * end.Sub(start).Seconds())
	// Of what the encoder made in the window: the source itself loses
	// frames when the CPU is short (-race on 2 cores), which is no fault
	// of the network or the sender.
	broken, missing, jumps := 0, 0, 0
	for _, fr := range during {
		if fr.broken {
			broken++
		}
		if fr.missing < 0 {
			jumps++
		} else {
			missing += fr.missing
		}
	}
	// Of the frames sent: those that arrived and those that frame_num
	// says are missing. The encoder's count over the window is logged as
	// a cross-check (within a frame or two: it is read at the edges).
	sent := len(during) + missing
	encoded := "-"
	if e0, e1 := f.encoded[start], f.encoded[end]; e1 > e0 {
		encoded = strconv.FormatUint(e1-e0, 10)
		// frame_num cannot count across a jump back, nor the frames
		// lost just before an IDR (a receiver's PLI after an outage):
		// the encoder's count is the better one then. Read at the
		// window's edges, it may be off by a frame or two.
		if n := int(e1 - e0); jumps > 0 || n > sent+2 {
			sent = max(sent, n)
		}
	}
	delivered, intact := -1.0, -1.0
	if sent > 0 {
		delivered = float64(len(during)) / float64(sent)
		intact = float64(len(during)-broken) / float64(sent)
	}
	ofEncoded := fmt.Sprintf("%d arrived + %d missing (encoded: %s), %d broken", len(during), missing, encoded, broken)
	if jumps > 0 {
		ofEncoded += fmt.Sprintf(", frame_num jumped back %d times", jumps)
	}
	if delivered >= 0 {
		ofEncoded += fmt.Sprintf(": arrived %.1f%%, intact %.1f%%", 100*delivered, 100*intact)
	}
	whole := f.log.captured(start.Add(-faultBefore), caseEnd)
	wholeDelivered := float64(len(whole)) / (30 * caseEnd.Sub(start.Add(-faultBefore)).Seconds())
	// The longest freeze: the longest time between two consecutive frames
	// that arrived, by capture time (as PTS gaps in a recording), from
	// the window's start to its end; and by arrival (what a player sees).
	freeze, gap := time.Duration(0), time.Duration(0)
	// (Not to the window's end: the last frames are still on their way.)
	prev := start.Add(-faultBefore)
	for _, fr := range whole {
		freeze = max(freeze, fr.captured.Sub(prev))
		prev = fr.captured
	}
	arrivals := make([]time.Time, len(whole))
	for i, fr := range whole {
		arrivals[i] = fr.arrived
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(arrivals); i++ {
		gap = max(gap, arrivals[i].Sub(arrivals[i-1]))
	}
	lat := f.log.latencyText
	since := func(t, from time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%.1f s", t.Sub(from).Seconds())
	}
	again := f.log.firstArrivalCapturedAfter(end)
	drops := "-"
	if dropped >= 0 {
		drops = strconv.Itoa(dropped) + " pkts"
	}
	if f.srt != nil {
		c := f.srt()
		drops += fmt.Sprintf(" | %d/%d/%d", c.lost-f.srt0.lost, c.retrans-f.srt0.retrans, c.dropped-f.srt0.dropped)
	}
	freezeText := fmt.Sprintf("%.2f s", freeze.Seconds())
	if again.IsZero() && len(whole) > 0 && end.After(start) {
		// Nothing captured after the fault arrived (a sender that never
		// came back): the freeze lasts from the last frame on.
		freezeText = fmt.Sprintf("over %.1f s (none since)", caseEnd.Sub(whole[len(whole)-1].captured).Seconds())
	}
	f.delivered[name] = delivered
	f.intact[name] = intact
	f.freeze[name] = freeze
	f.cut[name] = !adapted.IsZero()
	f.resized[name], f.rungMoved = f.rungMoved, false
	b50, _, okB := f.log.latency(start.Add(-faultBefore), start)
	a50, _, okA := f.log.latency(end, caseEnd)
	f.latency[name] = caseLatency{b50, a50, okB && okA}
	f.rows = append(f.rows, fmt.Sprintf("%s | %s | %.1f%% (%.1f%%) | %s | %.2f s | %s / %s / %s | %s | %s | %s | %s | %s | %s",
		name, ofEncoded, 100*of30, 100*wholeDelivered, freezeText, gap.Seconds(),
		lat(start.Add(-faultBefore), start), lat(start, end), lat(end, caseEnd),
		since(adapted, start), since(back, end), since(target, end), since(again, end), statuses, drops))
}

// markSRT notes the SRT receivers' counters at a case's start.
func (f *faultRun) markSRT() {
	if f.srt != nil {
		f.srt0 = f.srt()
	}
}

// encodedNow notes the sender's count of frames encoded now and returns
// the instant it is filed under.
func (f *faultRun) encodedNow() time.Time {
	now := time.Now()
	if n, ok := f.snd.encoded(); ok {
		f.encoded[now] = n
	}
	return now
}

// assertDrained checks that no fault leaves a queue behind: after each,
// the median capture-to-arrival latency is back within faultDrained of
// what it was before (the runs so far: within 35 ms, SRT after 15 %
// loss the most).
func (f *faultRun) assertDrained() {
	for _, name := range []string{"5% loss", "15% loss", "3 s outage", "receiver restart"} {
		l, ok := f.latency[name]
		switch {
		case f.some && !ok:
		case !ok || !l.ok:
			f.t.Errorf("%s: no frame arrived before the fault or after it to compare latency", name)
		case l.after > l.before+faultDrained:
			f.t.Errorf("%s: capture-to-arrival median %v after the fault, %v before: a queue is left", name, l.after, l.before)
		}
	}
}

// faultDrained is how much later than before a fault frames may arrive
// after it (the median).
const faultDrained = 150 * time.Millisecond

// assertLoss checks a random-loss case: at least min of the frames sent
// during the loss arrived intact, and no freeze over maxFreeze (the runs
// so far: 0.03-0.10 s, 98.8-100 % intact at 15 %).
func (f *faultRun) assertLoss(name string, min float64, maxFreeze time.Duration) {
	f.assertTarget(name, min)
	if fr := f.freeze[name]; fr > maxFreeze {
		f.t.Errorf("%s: the longest freeze was %v, want %v at most", name, fr.Round(10*time.Millisecond), maxFreeze)
	}
}

// assertTarget checks a case's share of frames delivered during its fault.
func (f *faultRun) assertTarget(name string, min float64) {
	if got, ok := f.intact[name]; f.some && !ok {
		return
	} else if !ok || got < 0 {
		f.t.Errorf("%s: no frame captured during the fault arrived", name)
	} else if got < min {
		f.t.Errorf("%s: %.2f%% of the frames sent during the fault arrived intact, want %.0f%% at least", name, 100*got, 100*min)
	}
}

// logRecordings cross-checks the frame log with what the recordings hold
// (ffprobe's count of video packets).
func (f *faultRun) logRecordings(files []string) {
	total := 0
	for _, p := range files {
		out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
			"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", p).Output()
		if err != nil {
			f.t.Logf("ffprobe %s: %v", filepath.Base(p), err)
			continue
		}
		// MPEG-TS lists the stream under its program too: the first line.
		if fs := strings.Fields(string(out)); len(fs) > 0 {
			n, _ := strconv.Atoi(strings.TrimSuffix(fs[0], ","))
			total += n
		}
	}
	withSEI, _, _ := f.log.counts()
	f.t.Logf("recordings: %d files, %d video packets (ffprobe); frames logged on arrival: %d", len(files), total, withSEI)
}

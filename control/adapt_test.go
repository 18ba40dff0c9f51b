package control

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestAdaptToBandwidthCut streams over SRT inside a network namespace of its
// own, cuts the loopback link to half of what the stream sends (tbf), and
// lifts the cut again. The bitrate controller must bring the encoder below
// the new capacity, keep the video flowing, and climb back once the link
// is free. The figures (time to adapt, frames delivered, longest freeze,
// time to recover) are logged. Asserted: below the new capacity within 3 s
// (the target), back to the old send rate within a minute, and the
// stream never leaves active. Not asserted, and missed today: no freeze
// over 1 s. At 720p openh264 does not go much below 250 kbit/s whatever it
// is asked (its QP stops at 42 and frame skipping is off), so with the
// video target at its floor the stream still overfills the cut link and
// the receiver loses frames; stepping the resolution down (the ladder of
// issue 8) is what would fix it.
func TestAdaptToBandwidthCut(t *testing.T) {
	if !adaptInNetns(t, "TestAdaptToBandwidthCut") {
		return
	}
	loMTU(t)
	rx := startReceiver(t, 0)
	// SRT's latency must cover the queueing the cut link adds (tbf holds
	// up to 200 ms, on top of retransmissions), or the receiver drops
	// what arrives late whatever the sender does: 800 ms, as links that
	// fade are run.
	adaptToCut(t, rx.url()+"?latency=800", rx.file, func() { rx.proc.Wait(10 * time.Second) })
}

// TestAdaptToBandwidthCutRTMP is the same over RTMP (TCP) into ffmpeg: the
// signals are the socket's write latency and a send rate behind the
// encoder, as RTMP reports no RTT or loss.
func TestAdaptToBandwidthCutRTMP(t *testing.T) {
	if !adaptInNetns(t, "TestAdaptToBandwidthCutRTMP") {
		return
	}
	loMTU(t)
	port := mediatest.FreeTCPPort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/adapt-key", port)
	rec := filepath.Join(t.TempDir(), "rx.flv")
	p := mediatest.Start(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", url, "-c", "copy", rec)
	mediatest.WaitTCPListen(t, port, 20*time.Second)
	adaptToCut(t, url, rec, func() { p.Wait(10 * time.Second) })
}

// loMTU gives the namespace's loopback an Ethernet MTU: TCP on lo sends
// segments of up to 64 KB, which tbf (burst 32 kbit) can never pass, so a
// cut link would stall TCP completely instead of slowing it; and 1500 is
// what the glasses' Wi-Fi path has.
func loMTU(t *testing.T) {
	whiptest.Sh(t, "ip", "link", "set", "lo", "mtu", "1500")
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

// adaptToCut runs one stream to url through a cut and its end; recording
// is what the receiver wrote, complete once receiverDone returns.
func adaptToCut(t *testing.T, url, recording string, receiverDone func()) {
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
	// 60 % of what the stream sends, audio and headers included: the
	// software encoder makes far less than its target on the test
	// pattern, and MPEG-TS over SRT costs about 100 kbit/s of its own at
	// 30 fps with AAC, so a deeper cut would leave the video nothing.
	limit := base.Bitrate * 6 / 10
	t.Logf("unlimited: sending %d bit/s, video target %d (%s)", base.Bitrate, base.VideoBitrate, base.BitrateReason)
	whiptest.Sh(t, "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", fmt.Sprintf("%dbit", limit), "burst", "32kbit", "latency", "200ms")
	cut := time.Now()
	var adapted time.Duration
	for i := 1; time.Since(cut) < 15*time.Second; i++ {
		time.Sleep(100 * time.Millisecond)
		st := stats()
		if i%5 == 0 {
			t.Logf("%3.1f s after the cut: sending %d bit/s, video target %d (%s), RTT %.1f ms, loss %.3f",
				time.Since(cut).Seconds(), st.Bitrate, st.VideoBitrate, st.BitrateReason, st.RTTMs, st.Loss)
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
	time.Sleep(8 * time.Second)
	low := stats()
	t.Logf("limited: sending %d bit/s, video target %d, RTT %.1f ms, dropped %d", low.Bitrate, low.VideoBitrate, low.RTTMs, low.DroppedFrames)
	whiptest.Sh(t, "tc", "qdisc", "del", "dev", "lo", "root")
	lifted := time.Now()
	// Recovered: the controller climbs back, to twice where the cut left
	// it at least (asserted), and the stream back to 90 % of its old send
	// rate (logged: the climb is slow on purpose, as a ceiling where
	// congestion struck expires over 30 s to 2 min; and the software
	// encoder makes less than its target on the test pattern).
	var climbed, recovered time.Duration
	for i := 1; time.Since(lifted) < 90*time.Second && (climbed == 0 || recovered == 0); i++ {
		time.Sleep(250 * time.Millisecond)
		st := stats()
		if i%8 == 0 {
			t.Logf("%2.0f s after the lift: sending %d bit/s, video target %d (%s), RTT %.1f ms, loss %.3f",
				time.Since(lifted).Seconds(), st.Bitrate, st.VideoBitrate, st.BitrateReason, st.RTTMs, st.Loss)
		}
		if climbed == 0 && st.VideoBitrate >= 2*low.VideoBitrate {
			climbed = time.Since(lifted)
		}
		if recovered == 0 && time.Since(lifted) > 3*time.Second && st.Bitrate >= base.Bitrate*9/10 {
			recovered = time.Since(lifted)
		}
		if climbed > 0 && time.Since(lifted) > 60*time.Second {
			break
		}
	}
	if climbed == 0 {
		t.Errorf("90 s after the limit was lifted the video target is %d, not above twice the %d the cut left", stats().VideoBitrate, low.VideoBitrate)
	}
	t.Logf("after the limit was lifted: video target doubled in %v, send rate back to 90%% in %v (0: not within the wait)",
		climbed.Round(10*time.Millisecond), recovered.Round(10*time.Millisecond))
	if _, err := m.Stop(s.StreamID, ""); err != nil {
		t.Fatal(err)
	}
	receiverDone()
	pts := videoPTS(t, recording)
	var freeze float64
	for i := 1; i < len(pts); i++ {
		freeze = max(freeze, pts[i]-pts[i-1])
	}
	span := pts[len(pts)-1] - pts[0]
	delivered := float64(len(pts)) / (span * 30)
	t.Logf("delivered %d frames over %.1f s (%.1f%% of 30 fps), longest freeze %.2f s, %d decoder errors", len(pts), span, 100*delivered, freeze, decodeErrors(t, recording))
	for _, e := range ev.all(s.StreamID) {
		if e.Status == StatusReconnecting || e.Status == StatusError {
			t.Errorf("the stream went %s: %s", e.Status, e.Message)
		}
	}
}

// decodeErrors counts what ffmpeg's decoder complains of in a recording:
// frames that arrived damaged (lost packets inside them), which timestamps
// alone do not show.
func decodeErrors(t *testing.T, path string) int {
	t.Helper()
	out, _ := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.ToLower(l)
		if strings.Contains(l, "concealing") || strings.Contains(l, "error while decoding") || strings.Contains(l, "corrupt") || strings.Contains(l, "decode_slice") {
			n++
		}
	}
	return n
}

// videoPTS reads the presentation times of the video packets of a recording
// (ffprobe), sorted as they are in the file.
func videoPTS(t *testing.T, path string) []float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pts []float64
	for _, l := range strings.Fields(string(out)) {
		if v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64); err == nil {
			pts = append(pts, v)
		}
	}
	if len(pts) < 2 {
		t.Fatalf("%s holds %d video packets", path, len(pts))
	}
	return pts
}

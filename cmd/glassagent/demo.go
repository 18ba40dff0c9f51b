package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// runDemo streams the synthetic camera and microphone through the real
// encoders and the real SRT publisher into an SRT listener in this same
// process, then reads the recording back and prints a summary. It needs
// nothing installed.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f streamFlags
	f.register(fs, 10*time.Second)
	out := fs.String("out", "glassagent-demo.ts", "where the receiver writes the stream")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if !strings.HasPrefix(f.camera, "test") || f.mic != "test" {
		fmt.Fprintln(stderr, "demo: note: using real devices instead of the synthetic ones")
	}
	rx, err := startSRTReceiver(*out)
	if err != nil {
		return err
	}
	url := "srt://" + rx.addr() + "?streamid=publish:demo&latency=120"
	pub, err := control.Publishers().New(url, publish.Config{})
	if err != nil {
		rx.close()
		return err
	}
	spec, err := f.spec(pub.AudioCodec())
	if err != nil {
		rx.close()
		return err
	}
	status := newStatusPrinter(stdout, f.json)
	begin := time.Now()
	sum, runErr := streamOnce(ctx, url, pub, spec, f.duration, status)
	rxErr := rx.close()
	if runErr != nil {
		return runErr
	}
	if rxErr != nil {
		return fmt.Errorf("receiver: %w", rxErr)
	}
	first, rxBytes := rx.received()
	rep, err := analyzeTS(*out)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(*out)
	ttfp := "never"
	if !first.IsZero() {
		ttfp = fmt.Sprintf("%d ms", first.Sub(begin).Milliseconds())
	}
	secs := sum.Duration.Seconds()
	fmt.Fprintf(stdout, `
Summary
  duration            %.1f s
  video               %dx%d @ %d fps, H.264 (%s), target %s
  frames              %d captured, %d encoded, %d sent, %d received (%d keyframes)
  audio               %d AAC frames sent, %d received
  bitrate (received)  %s
  time to first packet %s (connected in %d ms)
  dropped frames      %d
  latency             %s
  A/V start skew      %d ms
  file                %s (%s)
  play it with        ffplay %s   (or mpv, VLC)
`,
		secs, rep.Width, rep.Height, spec.FPS, sum.Encoder, fmtRate(spec.Bitrate),
		sum.FramesCaptured, sum.FramesEncoded, sum.FramesSent, rep.VideoFrames, rep.Keyframes,
		sum.AudioSent, rep.AudioFrames,
		fmtRate(int(float64(rxBytes)*8/secs)),
		ttfp, sum.TimeToConnect.Milliseconds(),
		sum.Dropped,
		fmtLatency(rx.latencies()),
		(rep.FirstAudio - rep.FirstVideo).Milliseconds(),
		abs, fmtBytes(rxBytes), abs)
	if rep.VideoFrames == 0 {
		return media.Errorf(media.CodeInternal, "the receiver got no video")
	}
	return nil
}

// fmtLatency summarises capture-to-arrival latencies (sorted): what the
// wearer's viewers wait for, camera to receiver, through the encoder, queue
// and transport.
func fmtLatency(l []time.Duration) string {
	if len(l) == 0 {
		return "not measured (no capture-time SEI received)"
	}
	q := func(p float64) int64 { return l[min(len(l)-1, int(p*float64(len(l))))].Milliseconds() }
	return fmt.Sprintf("capture to arrival p50 %d ms, p95 %d ms, max %d ms (%d frames)", q(0.5), q(0.95), l[len(l)-1].Milliseconds(), len(l))
}

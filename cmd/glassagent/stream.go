package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

func runStream(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glassagent stream URL [flags]\n\nURL: srt://HOST:PORT?streamid=..., rtmp(s)://HOST/APP/KEY or https://HOST/whip/...\n\nFlags:")
		fs.PrintDefaults()
	}
	var f streamFlags
	f.register(fs, 0)
	caFile := fs.String("ca-file", "", "extra PEM CA bundle for rtmps:// and https:// servers")
	tokenFile := fs.String("token-file", "", "file holding the WHIP bearer token")
	// Accept the URL before or after the flags.
	var rawURL string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		rawURL, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if rawURL == "" && fs.NArg() > 0 {
		rawURL = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return errUsage
		}
	}
	if rawURL == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	pcfg := publish.Config{CAFile: *caFile}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return media.Errorf(media.CodeInvalidConfig, "--token-file: %w", err)
		}
		pcfg.BearerToken = strings.TrimSpace(string(b))
	}
	pub, err := control.Publishers().New(rawURL, pcfg)
	if err != nil {
		return err
	}
	spec, err := f.spec(pub.AudioCodec())
	if err != nil {
		return err
	}
	out := newStatusPrinter(stdout, f.json)
	_, err = streamOnce(ctx, publish.RedactURL(rawURL), pub, spec, f.duration, out)
	return err
}

// summary is what one stream did, for the final report.
type summary struct {
	Duration       time.Duration
	TimeToConnect  time.Duration
	FramesCaptured uint64
	FramesEncoded  uint64
	FramesSent     uint64
	AudioSent      uint64
	BytesSent      uint64
	Dropped        uint64
	Keyframes      uint64
	Encoder        string // which H.264 encoder ran, and why
}

// streamOnce runs the pipeline into pub until duration passes (0: forever),
// ctx ends (both a clean stop), or something fails.
func streamOnce(ctx context.Context, shownURL string, pub publish.Publisher, spec pipeline.Spec, duration time.Duration, out *statusPrinter) (summary, error) {
	var sum summary
	begin := time.Now()
	out.status("initializing", fmt.Sprintf("%s %dx%d@%d %s, %s", strings.ToLower(spec.Encoder), spec.Width, spec.Height, spec.FPS, fmtRate(spec.Bitrate), spec.AudioCodec), nil)
	clock := media.NewClock()
	cfg, err := pipeline.Open(spec, clock)
	if err != nil {
		out.status("error", err.Error(), err)
		return sum, err
	}
	p, err := pipeline.Start(cfg)
	if err != nil {
		out.status("error", err.Error(), err)
		return sum, err
	}
	// The stream ends when duration passes or ctx ends (SIGINT/SIGTERM):
	// then capture stops and the publisher sends what is queued before it
	// returns. pubCtx only cuts that short if the far end stalls.
	stopCtx := ctx
	if duration > 0 {
		var cancel context.CancelFunc
		stopCtx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	pubCtx, cancelPub := context.WithCancel(context.Background())
	defer cancelPub()
	out.status("connecting", "to "+shownURL+" ("+p.Describe()+")", nil)
	connected := make(chan struct{})
	var connectedAt time.Time
	done := make(chan error, 1)
	go func() {
		done <- p.Publish(pubCtx, pub, func() {
			connectedAt = time.Now()
			close(connected)
		})
	}()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var runErr error
	stopping := stopCtx.Done()
	var drainTimeout <-chan time.Time
loop:
	for {
		select {
		case <-connected:
			connected = nil
			out.status("active", fmt.Sprintf("connected in %d ms", connectedAt.Sub(begin).Milliseconds()), nil)
		case <-tick.C:
			out.stats(p.Stats())
		case <-stopping:
			stopping = nil
			out.status("stopping", "", nil)
			p.Finish()
			drainTimeout = time.After(3 * time.Second)
		case <-drainTimeout:
			cancelPub()
		case runErr = <-done:
			break loop
		}
	}
	st := p.Stats()
	encoderInfo := p.VideoInfo()
	stopErr := p.Stop()
	sum = summary{
		Duration:       time.Since(begin),
		FramesCaptured: st.FramesCaptured,
		FramesEncoded:  st.FramesEncoded,
		FramesSent:     st.Publish.VideoFrames,
		AudioSent:      st.Publish.AudioFrames,
		BytesSent:      st.Publish.BytesSent,
		Dropped:        st.DroppedFrames(),
		Keyframes:      st.Keyframes,
		Encoder:        encoderInfo,
	}
	if !connectedAt.IsZero() {
		sum.TimeToConnect = connectedAt.Sub(begin)
	}
	if runErr != nil {
		out.status("error", runErr.Error(), runErr)
		return sum, runErr
	}
	if stopErr != nil {
		out.status("error", stopErr.Error(), stopErr)
		return sum, stopErr
	}
	out.status("stopped", fmt.Sprintf("after %.1f s, %d frames, %s sent (video: %s)", sum.Duration.Seconds(), sum.FramesSent, fmtBytes(sum.BytesSent), sum.Encoder), nil)
	return sum, nil
}

// statusPrinter writes status changes and periodic stats, for people or,
// with --json, one JSON object per line for programs.
type statusPrinter struct {
	w     io.Writer
	json  bool
	start time.Time
}

func newStatusPrinter(w io.Writer, asJSON bool) *statusPrinter {
	return &statusPrinter{w: w, json: asJSON, start: time.Now()}
}

type statusLine struct {
	Time         time.Time   `json:"time"`
	Status       string      `json:"status,omitempty"`
	Message      string      `json:"message,omitempty"`
	ErrorDetails media.Code  `json:"errorDetails,omitempty"`
	Stats        *statsEntry `json:"stats,omitempty"`
}

type statsEntry struct {
	Uptime        float64 `json:"uptime"`
	Bitrate       int     `json:"bitrate"`
	EncoderRate   int     `json:"encoderBitrate"`
	FPS           float64 `json:"fps"`
	RTTMs         float64 `json:"rttMs"`
	Loss          float64 `json:"loss"`
	DroppedFrames uint64  `json:"droppedFrames"`
	QueueDepth    int     `json:"queueDepth"`
	BytesSent     uint64  `json:"bytesSent"`
}

func (s *statusPrinter) status(status, msg string, err error) {
	if s.json {
		s.emit(statusLine{Time: time.Now(), Status: status, Message: msg, ErrorDetails: media.CodeOf(err)})
		return
	}
	line := fmt.Sprintf("%6.1fs  %-12s %s", time.Since(s.start).Seconds(), status, msg)
	if err != nil {
		line = fmt.Sprintf("%6.1fs  %-12s [%s] %s", time.Since(s.start).Seconds(), status, media.CodeOf(err), strings.TrimPrefix(msg, string(media.CodeOf(err))+": "))
	}
	fmt.Fprintln(s.w, strings.TrimRight(line, " "))
}

func (s *statusPrinter) stats(st pipeline.Stats) {
	e := statsEntry{
		Uptime: st.Uptime.Seconds(), Bitrate: st.Publish.Bitrate, EncoderRate: st.VideoBitrate,
		FPS: st.FPS, RTTMs: float64(st.Publish.RTT.Microseconds()) / 1000, Loss: st.Publish.Loss,
		DroppedFrames: st.DroppedFrames(), QueueDepth: st.Queue.Depth, BytesSent: st.Publish.BytesSent,
	}
	if s.json {
		s.emit(statusLine{Time: time.Now(), Stats: &e})
		return
	}
	fmt.Fprintf(s.w, "%6.1fs  %-12s send %s  enc %s  %4.1f fps  rtt %.1f ms  loss %.1f%%  dropped %d  queue %d\n",
		time.Since(s.start).Seconds(), "stats", fmtRate(e.Bitrate), fmtRate(e.EncoderRate), e.FPS, e.RTTMs, e.Loss*100, e.DroppedFrames, e.QueueDepth)
}

func (s *statusPrinter) emit(v statusLine) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"status":"error","message":"status not encodable"}`)
	}
	s.w.Write(append(b, '\n'))
}

func fmtRate(bps int) string {
	switch {
	case bps >= 1_000_000:
		return fmt.Sprintf("%.2f Mbit/s", float64(bps)/1e6)
	case bps >= 1000:
		return fmt.Sprintf("%.0f kbit/s", float64(bps)/1e3)
	}
	return fmt.Sprintf("%d bit/s", bps)
}

func fmtBytes(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

package api

import (
	"fmt"
	"io"
	"net/http"

	"github.com/glassagent/glassagent/control"
)

// serveMetrics writes the running streams' state in the Prometheus text
// format, for fleet debugging: scrape the socket, or forward it.
func serveMetrics(w http.ResponseWriter, m Manager) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	streams := m.List()
	writeMetric(w, "glassagent_streams", "gauge", "Streams holding the camera.", float64(len(streams)))
	states := []control.Status{control.StatusInitializing, control.StatusConnecting, control.StatusActive,
		control.StatusReconnecting, control.StatusStopping}
	fmt.Fprintln(w, "# HELP glassagent_stream_state 1 for the state each stream is in.")
	fmt.Fprintln(w, "# TYPE glassagent_stream_state gauge")
	for _, s := range streams {
		for _, st := range states {
			v := 0
			if s.Status == st {
				v = 1
			}
			fmt.Fprintf(w, "glassagent_stream_state{stream=%q,kind=%q,state=%q} %d\n", s.StreamID, s.Kind, st, v)
		}
	}
	for _, mt := range []struct {
		name, typ, help string
		v               func(*control.Stats) float64
	}{
		{"glassagent_stream_bitrate_bps", "gauge", "Bits per second sent.", func(s *control.Stats) float64 { return float64(s.Bitrate) }},
		{"glassagent_stream_fps", "gauge", "Frames per second encoded.", func(s *control.Stats) float64 { return s.FPS }},
		{"glassagent_stream_dropped_frames_total", "counter", "Frames lost at the source or in the queue.", func(s *control.Stats) float64 { return float64(s.DroppedFrames) }},
		{"glassagent_stream_reconnects_total", "counter", "Reconnections.", func(s *control.Stats) float64 { return float64(s.Reconnects) }},
		{"glassagent_stream_rtt_seconds", "gauge", "Round-trip time.", func(s *control.Stats) float64 { return s.RTTMs / 1000 }},
		{"glassagent_stream_uptime_seconds", "gauge", "Time since the stream started.", func(s *control.Stats) float64 { return s.Uptime }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", mt.name, mt.help, mt.name, mt.typ)
		for _, s := range streams {
			if s.Stats != nil {
				fmt.Fprintf(w, "%s{stream=%q} %g\n", mt.name, s.StreamID, mt.v(s.Stats))
			}
		}
	}
}

func writeMetric(w io.Writer, name, typ, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", name, help, name, typ, name, v)
}

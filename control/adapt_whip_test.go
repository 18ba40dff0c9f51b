package control

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

// TestAdaptToBandwidthCutWHIP is TestAdaptToBandwidthCut over WHIP: the
// signals are WebRTC's own congestion controller (GCC, from the endpoint's
// TWCC feedback), its RTT and loss, and the ladder as over SRT and RTMP.
// The cut shapes the media's direction only (the endpoint's UDP port), as
// over SRT: a fading uplink does not slow the feedback coming back. The
// pion endpoint reassembles frames through a jitter buffer that acts as a
// browser's (whiptest/jitter.go: a complete keyframe does not wait behind
// a hole), and records them in MPEG-TS with their RTP timestamps, so the
// same decoding (ffprobe) measures the freeze and the sizes; it asks for a
// keyframe when the jitter buffer gives a frame up, as a browser does.
//
// Asserted: below the cut link within 3 s (0.2-0.5 s in the runs so far),
// no freeze over 1 s (the target: 0.07-0.20 s in fourteen runs of
// fourteen since the rate meter fix; before it, 0.07-0.80 s in seventeen
// runs of nineteen and 1.03 s in two), the ladder down, no reconnection,
// and the climb back (the target doubled and a rung up: 35-50 s in the
// runs so far, most of it the 30 s the ceiling learnt at the cut holds).
// What it takes (NOTES.md): the sender reads
// the bottleneck's queue and the rate it passes from the TWCC feedback
// (publish/whip/delivery.go) and caps GCC's target under that rate a
// feedback interval after the queue shows (publish/pace), and paces its
// packets, under the link while it is full, so the excess
// waits in our queue instead of overflowing the link's. Before, with
// GCC's own target alone, the freeze was 1.0-2.2 s: its target bound the
// stream about a second after the cut, the link dropping 40-60 % of the
// packets meanwhile.
func TestAdaptToBandwidthCutWHIP(t *testing.T) {
	if !adaptInNetns(t, "TestAdaptToBandwidthCutWHIP") {
		return
	}
	adaptToCutWHIP(t, cutShape{}, 1)
}

// TestAdaptToBandwidthCut4to1WHIP is the cut over WHIP, the
// endpoint's UDP port a 4 Mbit/s link that drops to 1 Mbit/s and comes
// back; asserted as TestAdaptToBandwidthCut4to1, the freeze at 1.5 s. The
// issue's 1 s is for a half cut (TestAdaptToBandwidthCutWHIP asserts it);
// this one leaves a quarter, and its freeze is 0.23-0.27 s in most runs
// and 1.03 s in about one in seven (the picture back at the next GOP's
// keyframe, the ladder's step keyframe lost in the queue's overflow: the
// stream was 3.3 times the cut link for the 0.2 s GCC's capped target
// takes, and 15 % of the packets are lost in the first second; NOTES.md).
// 1.5 s still fails a freeze that lasts past that GOP (before the NACK
// hold-off and the obsolete repairs, 0.93-1.27 s and 86-94 % of frames).
func TestAdaptToBandwidthCut4to1WHIP(t *testing.T) {
	if !adaptInNetns(t, "TestAdaptToBandwidthCut4to1WHIP") {
		return
	}
	adaptToCutWHIP(t, cut4to1, 1.5)
}

func adaptToCutWHIP(t *testing.T, sh cutShape, maxFreeze float64) {
	mediatest.NeedTool(t, "ffprobe")
	whiptest.EthernetLoopback(t)
	addr := fmt.Sprintf("127.0.0.1:%d", mediatest.FreeTCPPort(t))
	rec := filepath.Join(t.TempDir(), "rx.ts")
	udp := mediatest.FreeUDPPort(t)
	log := &frameLog{}
	rx, err := startWHIPRecorder(addr, udp, rec, log)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.close()
	adaptToCut(t, "http://"+addr+"/whip", uplink{"udp", udp}, rec, maxFreeze, true, rx.close, log, sh)
	if rx.err != nil {
		t.Errorf("recording: %v", rx.err)
	}
}

// whipRecorder is a WHIP endpoint (pion, with a jitter buffer) that
// writes the video it gets to an MPEG-TS file, each frame at its RTP
// timestamp, and, for the fault matrix, logs every frame as it arrives
// with what frame_num says about it.
type whipRecorder struct {
	e    *whiptest.Endpoint
	file string
	f    *os.File
	log  *frameLog // nil: record only
	mu   sync.Mutex
	w    *mpegts.Writer
	tr   *mpegts.Track
	nums frameNums
	t0   uint32
	last int64 // unwrapped RTP time of the last frame
	seen bool
	err  error
	once sync.Once
}

// startWHIPRecorder serves WHIP on addr; its media arrives on udpPort when
// that is set (so faults can hit it and a new endpoint take it over).
func startWHIPRecorder(addr string, udpPort int, file string, log *frameLog) (*whipRecorder, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	r := &whipRecorder{file: file, f: f, log: log, tr: &mpegts.Track{Codec: &mpegts.CodecH264{}}}
	r.w = &mpegts.Writer{W: f, Tracks: []*mpegts.Track{r.tr}}
	if err := r.w.Initialize(); err != nil {
		f.Close()
		return nil, err
	}
	e, err := whiptest.StartOn(addr, nil, func(e *whiptest.Endpoint) {
		e.Loopback, e.UDPPort = true, udpPort
		e.OnFrame = r.frame
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	r.e = e
	return r, nil
}

func (r *whipRecorder) frame(arrived time.Time, ts uint32, annexB []byte) {
	var au h264.AnnexB
	if au.Unmarshal(annexB) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log != nil {
		missing := r.nums.missing(au)
		r.log.add(arrived, au, r.nums.undecodable(), missing)
	}
	if !r.seen {
		r.seen, r.t0 = true, ts
	}
	// RTP time since the first frame, across the 32-bit wrap.
	pts := r.last + int64(int32(ts-r.t0-uint32(r.last)))
	r.last = pts
	if err := r.w.WriteH264(r.tr, pts, pts, au); err != nil && r.err == nil {
		r.err = err
	}
}

// close ends the endpoint's peer connections and completes the file.
func (r *whipRecorder) close() {
	r.once.Do(func() {
		r.e.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.f.Close(); err != nil && r.err == nil {
			r.err = err
		}
	})
}

package control

import (
	"math"
	"time"

	"github.com/glassagent/glassagent/control/abr"
	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/publish"
)

// AdaptConfig sets how a stream's video bitrate follows its path and its
// device. Zero fields take the defaults in Defaults.
type AdaptConfig struct {
	// Off keeps the bitrate where the stream asked (and the API sets it).
	Off bool
	// MinBitrate is the floor the controller never goes below, bit/s; the
	// stream's own bitrate is the ceiling.
	MinBitrate int
	// Interval between samples of the transport's statistics.
	Interval time.Duration
	// SysRoot is where the thermal zones and power supplies are read
	// (default /sys); Guards says when they cap the bitrate.
	SysRoot string
	Guards  abr.GuardConfig
	// Ladder is the resolution and frame-rate ladder below a stream's own
	// size (see LadderRung); empty: the bitrate alone adapts. Each stream
	// uses the rungs smaller than its own; see ladderFor.
	Ladder []LadderRung
}

// LadderRung is one step of the ladder as configured.
type LadderRung struct {
	// Width 0 follows the stream's aspect ratio from Height, so one
	// ladder serves 16:9 and 4:3 streams alike.
	Width, Height, FPS int
	// MinBitrate is the rung's floor, bit/s: at or below it the
	// controller steps further down. 0 derives it from the pixel rate
	// (abr.Config.FloorBitsPerPixel).
	MinBitrate int
}

// DefaultLadder is the ladder a stream gets when the configuration names
// none: 720p30, 540p30, 360p30, 360p15, 240p15, the sizes and rates a
// cellular uplink is usually served at, each about half the pixel rate of
// the one before.
func DefaultLadder() []LadderRung {
	return []LadderRung{{Height: 720, FPS: 30}, {Height: 540, FPS: 30}, {Height: 360, FPS: 30}, {Height: 360, FPS: 15}, {Height: 240, FPS: 15}}
}

// ladderFor is the ladder of a stream of own size and rate: own first,
// then each configured rung that is smaller than the one kept before it
// (in size or rate, larger in neither, and with a lower floor), with a
// width from the stream's aspect ratio where none is given. A rung whose
// width gives another aspect ratio (by more than 2 %) is left out: the
// picture would be stretched.
func ladderFor(own pipeline.Rung, rungs []LadderRung) []abr.Rung {
	out := []abr.Rung{{Width: own.Width, Height: own.Height, FPS: own.FPS}}
	for _, r := range rungs {
		last := out[len(out)-1]
		w := r.Width
		if w == 0 {
			// To the nearest even width: 4:2:0 chroma needs it (720p at
			// 240 lines is 426.7 columns: 426).
			w = int(math.Round(float64(r.Height*own.Width)/float64(own.Height)/2)) * 2
		} else if d := float64(w*own.Height) / float64(r.Height*own.Width); d < 0.98 || d > 1.02 {
			continue
		}
		c := abr.Rung{Width: w, Height: r.Height, FPS: r.FPS, Floor: r.MinBitrate}
		switch {
		case w < pipeline.MinDimension || r.Height < pipeline.MinDimension || r.FPS < 1:
			continue
		case w > last.Width || r.Height > last.Height || r.FPS > last.FPS:
			continue
		case w == last.Width && r.Height == last.Height && r.FPS == last.FPS:
			continue
		case c.FloorAt(0) >= last.FloorAt(0):
			continue
		}
		out = append(out, c)
		if len(out) == abr.MaxRungs {
			break
		}
	}
	return out
}

// guardEvery is how often the device guards are read: temperatures and
// battery move over tens of seconds, and sysfs reads cost a few syscalls.
const guardEvery = 5 * time.Second

// rateControl is one stream's adaptive bitrate: it turns the pipeline's
// statistics into abr samples, and the controller's decisions into the
// encoder's bitrate. It belongs to the stream's run goroutine.
type rateControl struct {
	cfg          AdaptConfig
	ctl          *abr.Controller
	audioBitrate int
	ceiling      int
	start        time.Time

	guardAt   time.Time
	cap       int
	capReason string
	reason    string // the last change's reason, for the stats

	// rungs is the stream's ladder, as the pipeline takes it (index as
	// abr.Decision.Rung).
	rungs []pipeline.Rung
}

// newRateControl makes the controller for a stream of spec, or nil when
// adaptation is off. A ceiling at or below the floor leaves nothing to
// adapt: the floor follows it down.
func newRateControl(cfg AdaptConfig, spec pipeline.Spec, ceiling int) (*rateControl, error) {
	if cfg.Off {
		return nil, nil
	}
	ladder := ladderFor(pipeline.Rung{Width: spec.Width, Height: spec.Height, FPS: spec.FPS}, cfg.Ladder)
	ctl, err := abr.New(abr.Config{Min: min(cfg.MinBitrate, ceiling), Max: ceiling, Interval: cfg.Interval, Ladder: ladder})
	if err != nil {
		return nil, err
	}
	rc := &rateControl{cfg: cfg, ctl: ctl, audioBitrate: spec.AudioBitrate, ceiling: ceiling, start: time.Now()}
	for _, r := range ladder {
		rc.rungs = append(rc.rungs, pipeline.Rung{Width: r.Width, Height: r.Height, FPS: r.FPS})
	}
	return rc, nil
}

// targetCut reports a transport target that fell sharply under the
// video's rate: by a quarter or more (smaller moves wait for the next
// sample, where the controller's dead band takes them).
func (r *rateControl) targetCut(p publish.Stats) bool {
	if p.TargetBitrate <= 0 {
		return false
	}
	return p.TargetBitrate-r.audioBitrate < r.ctl.Bitrate()*3/4
}

// update samples st and returns the decision.
func (r *rateControl) update(st pipeline.Stats, now time.Time) abr.Decision {
	if now.Sub(r.guardAt) >= guardEvery {
		r.guardAt = now
		r.cap, r.capReason = abr.ReadGuards(r.cfg.SysRoot).Cap(r.ceiling, r.cfg.Guards)
	}
	p := st.Publish
	s := abr.Sample{
		At:          now.Sub(r.start),
		SendRate:    p.Bitrate,
		ReceiveRate: p.ReceiveRate,
		RTT:         p.RTT,
		// SRT reports its send buffer; RTMP the time its last write
		// blocked. Either is data the network has not taken yet.
		SendBuffer: max(p.SendBuffer, p.WriteLatency),
		Loss:       p.Loss,
		QueueDelay: st.Queue.QueuedMedia,
		QueueDrops: st.Queue.DroppedGOPs,
		Silence:    p.Silence,
		Cap:        r.cap, CapReason: r.capReason,
	}
	if st.VideoBitrate > 0 {
		// The send rate carries audio and muxing too; the encoder figure
		// is video only.
		s.EncoderRate = st.VideoBitrate
	}
	if p.TargetBitrate > 0 {
		// WHIP's congestion controller estimates the whole path; the
		// video gets it less the audio.
		s.Target = max(p.TargetBitrate-r.audioBitrate, 1)
	}
	d := r.ctl.Update(s)
	if d.Changed {
		r.reason = d.Reason
	}
	return d
}

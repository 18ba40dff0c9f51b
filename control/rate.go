package control

import (
	"time"

	"github.com/glassagent/glassagent/control/abr"
	"github.com/glassagent/glassagent/control/pipeline"
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
}

// newRateControl makes the controller for a stream of spec, or nil when
// adaptation is off. A ceiling at or below the floor leaves nothing to
// adapt: the floor follows it down.
func newRateControl(cfg AdaptConfig, spec pipeline.Spec, ceiling int) (*rateControl, error) {
	if cfg.Off {
		return nil, nil
	}
	ctl, err := abr.New(abr.Config{Min: min(cfg.MinBitrate, ceiling), Max: ceiling, Interval: cfg.Interval})
	if err != nil {
		return nil, err
	}
	return &rateControl{cfg: cfg, ctl: ctl, audioBitrate: spec.AudioBitrate, ceiling: ceiling, start: time.Now()}, nil
}

// update samples st and returns the decision.
func (r *rateControl) update(st pipeline.Stats, now time.Time) abr.Decision {
	if now.Sub(r.guardAt) >= guardEvery {
		r.guardAt = now
		r.cap, r.capReason = abr.ReadGuards(r.cfg.SysRoot).Cap(r.ceiling, r.cfg.Guards)
	}
	p := st.Publish
	s := abr.Sample{
		At:       now.Sub(r.start),
		SendRate: p.Bitrate,
		RTT:      p.RTT,
		// SRT reports its send buffer; RTMP the time its last write
		// blocked. Either is data the network has not taken yet.
		SendBuffer: max(p.SendBuffer, p.WriteLatency),
		Loss:       p.Loss,
		QueueDelay: st.Queue.QueuedMedia,
		QueueDrops: st.Queue.DroppedGOPs,
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

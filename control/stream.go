package control

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// stream is one stream's state machine. Its fields under "guarded by m.mu"
// are read by the manager's API calls.
type stream struct {
	m      *Manager
	id     string
	kind   Kind
	rawURL string // holds secrets: never shown
	shown  string
	req    StartRequest
	spec   pipeline.Spec

	// guarded by m.mu
	holders    []string
	status     Status
	startedAt  time.Time
	pl         *pipeline.Pipeline
	reconnects int
	// ending: a stop was asked for (or the stream ended itself); nobody
	// may join it any more, even before run has said "stopping".
	ending bool

	// videoRate is the encoder's bitrate now and rateReason why it last
	// changed (the bitrate controller, or the API).
	videoRate  int
	rateReason string
	// ladderReason is why the ladder rung last changed ("" never).
	ladderReason string
	setRate      chan int // a bitrate set through the API: the new ceiling

	stop chan media.Code // a stop request, with its reason ("" = asked to)
	kick chan struct{}   // a keep-alive
	done chan struct{}   // closed when the stream has stopped
}

func (s *stream) requestStop(reason media.Code) {
	select {
	case s.stop <- reason:
	default:
	}
}

func (s *stream) infoLocked() Info {
	i := Info{StreamID: s.id, Kind: s.kind, URL: s.shown, Status: s.status, StartedAt: s.startedAt, Holders: slices.Clone(s.holders)}
	if s.pl != nil {
		i.Pipeline = s.pl.Describe()
	}
	if s.status == StatusActive && s.pl != nil {
		i.Stats = s.statsLocked()
	}
	return i
}

func (s *stream) eventLocked(st Status, msg string, code media.Code, stats *Stats) Event {
	return Event{StreamID: s.id, Kind: s.kind, Status: st, Message: msg, ErrorDetails: code, Stats: stats,
		Holders: slices.Clone(s.holders), Timestamp: time.Now()}
}

// set moves the state machine and publishes the transition.
func (s *stream) set(st Status, msg string, code media.Code) {
	s.m.mu.Lock()
	s.status = st
	if st == StatusStopping || st == StatusStopped || st == StatusError {
		s.ending = true
	}
	var stats *Stats
	if st == StatusActive && s.pl != nil {
		stats = s.statsLocked()
	}
	if st == StatusStopped || st == StatusError {
		// The camera is free from this event on.
		if s.m.cur == s {
			s.m.cur = nil
		}
	}
	s.m.publishLocked(s.eventLocked(st, msg, code, stats))
	s.m.mu.Unlock()
}

func (s *stream) statsLocked() *Stats {
	ps := s.pl.Stats()
	return &Stats{
		Bitrate: ps.Publish.Bitrate, FPS: ps.FPS, RTTMs: float64(ps.Publish.RTT.Microseconds()) / 1000,
		Loss: ps.Publish.Loss, DroppedFrames: ps.DroppedFrames(), Reconnects: s.reconnects, Uptime: time.Since(s.startedAt).Seconds(),
		VideoBitrate: s.videoRate, BitrateReason: s.rateReason,
		Resolution: strconv.Itoa(ps.Rung.Width) + "x" + strconv.Itoa(ps.Rung.Height), FrameRate: ps.Rung.FPS, LadderReason: s.ladderReason,
	}
}

// end enters a final state: the devices are released first, so the camera
// is really free when the event says so.
func (s *stream) end(st Status, msg string, code media.Code) {
	s.m.mu.Lock()
	pl := s.pl
	s.ending = true // from here on nobody touches the encoder (SetBitrate)
	s.m.mu.Unlock()
	if pl != nil {
		pl.Stop()
	}
	s.set(st, msg, code)
}

func (s *stream) sound() bool {
	if s.req.Sound == nil {
		return !s.m.cfg.NoSound
	}
	return *s.req.Sound
}

// run drives the stream from start to stopped or error.
func (s *stream) run(pub publish.Publisher) {
	defer close(s.done)
	cfg := s.m.cfg
	pcfg, err := pipeline.Open(s.spec, media.NewClock())
	pcfg.RateByCaller = !cfg.Adapt.Off // rateControl below owns the bitrate
	if err == nil {
		var pl *pipeline.Pipeline
		if pl, err = pipeline.Start(pcfg); err == nil {
			s.m.mu.Lock()
			s.pl = pl
			s.m.mu.Unlock()
		}
	}
	if err != nil {
		s.end(StatusError, err.Error(), media.CodeOf(err))
		return
	}
	pl := s.pl

	var limit, keepalive <-chan time.Time
	if d := s.req.Stream.DurationLimit; d > 0 {
		t := time.NewTimer(time.Duration(d) * time.Second)
		defer t.Stop()
		limit = t.C
	}
	var kaTimer *time.Timer
	if s.req.KeepAlive {
		kaTimer = time.NewTimer(cfg.KeepAliveTimeout)
		defer kaTimer.Stop()
		keepalive = kaTimer.C
	}
	statsTick := time.NewTicker(cfg.StatsInterval)
	defer statsTick.Stop()
	rc, err := newRateControl(cfg.Adapt, s.spec, s.spec.Bitrate)
	if err != nil {
		s.end(StatusError, err.Error(), media.CodeOf(err))
		return
	}
	var adaptTick, targetTick <-chan time.Time
	var adaptTicker *time.Ticker
	if rc != nil {
		adaptTicker = time.NewTicker(cfg.Adapt.Interval)
		defer adaptTicker.Stop()
		adaptTick = adaptTicker.C
		// A transport's own congestion control (WHIP's GCC) cuts its
		// target when it sees fit, between two samples: looked at five
		// times as often, a sharp cut is taken at once, the ladder's step
		// (and its keyframe, which ends the freeze) half an interval
		// sooner on average, and the samples go on from there.
		tt := time.NewTicker(cfg.Adapt.Interval / 5)
		defer tt.Stop()
		targetTick = tt.C
	}

	everActive := false
	var failedSince time.Time
	backoff := cfg.BackoffInitial
	for attempt := 0; ; attempt++ {
		if attempt == 0 {
			s.set(StatusConnecting, "connecting to "+s.shown+" ("+pl.Describe()+")", "")
		}
		connected := make(chan struct{})
		pubCtx, cancelPub := context.WithCancel(context.Background())
		res := make(chan error, 1)
		go func() {
			res <- pl.Publish(pubCtx, pub, func() { close(connected) })
		}()
		var runErr error
		stopReason, stopping := media.Code(""), false
	wait:
		for {
			select {
			case <-connected:
				connected = nil
				if !everActive && s.sound() && cfg.Cues != nil {
					cfg.Cues.PlayStart()
				}
				msg := "streaming to " + s.shown
				if everActive {
					msg = "reconnected to " + s.shown
					if rc != nil {
						rc.ctl.Reset() // a new connection may take another route
					}
				}
				everActive, failedSince, backoff = true, time.Time{}, cfg.BackoffInitial
				s.set(StatusActive, msg, "")
			case runErr = <-res:
				break wait
			case stopReason = <-s.stop:
				stopping = true
			case <-limit:
				stopReason, stopping = media.CodeDurationLimit, true
			case <-keepalive:
				stopReason, stopping = media.CodeKeepaliveTimeout, true
			case <-s.kick:
				if kaTimer != nil {
					kaTimer.Reset(cfg.KeepAliveTimeout)
				}
			case <-adaptTick:
				s.adapt(rc, pl)
			case <-targetTick:
				if rc.targetCut(pl.Stats().Publish) {
					s.adapt(rc, pl)
					adaptTicker.Reset(cfg.Adapt.Interval)
				}
			case bps := <-s.setRate:
				// The API set a bitrate: it is the ceiling from now on,
				// and a new controller starts from the stream's own size.
				if rc != nil {
					if next, err := newRateControl(cfg.Adapt, s.spec, bps); err == nil {
						rc = next
						pl.SetRung(rc.rungs[0])
					}
				}
			case <-statsTick.C:
				s.m.mu.Lock()
				if s.status == StatusActive {
					s.m.publishLocked(s.eventLocked(StatusActive, "", "", s.statsLocked()))
				}
				s.m.mu.Unlock()
			}
			if stopping {
				s.finish(pl, pub, res, cancelPub, stopReason)
				return
			}
		}
		cancelPub()
		if err := pl.Err(); err != nil {
			s.end(StatusError, err.Error(), media.CodeOf(err))
			return
		}
		if runErr == nil {
			runErr = media.Errorf(media.CodeConnectionLost, "the publisher stopped")
		}
		if !everActive {
			// Bad URL, refused key, nobody listening: retrying will not help.
			s.end(StatusError, runErr.Error(), media.CodeOf(runErr))
			return
		}
		if failedSince.IsZero() {
			failedSince = time.Now()
		}
		if time.Since(failedSince) > cfg.GiveUpAfter {
			s.end(StatusError, "gave up reconnecting after "+cfg.GiveUpAfter.String()+": "+runErr.Error(), media.CodeOf(runErr))
			return
		}
		// Exponential backoff with full jitter in its upper half, so many
		// devices losing the same server do not come back in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, cfg.BackoffMax)
		s.m.mu.Lock()
		s.reconnects++
		n := s.reconnects
		s.m.mu.Unlock()
		s.set(StatusReconnecting, "attempt "+strconv.Itoa(n)+" in "+wait.Round(time.Millisecond).String()+": "+runErr.Error(), media.CodeOf(runErr))
		if reason, stop := s.backoff(wait, limit, keepalive, kaTimer); stop {
			s.finishIdle(reason)
			return
		}
		next, err := s.m.schemes.New(s.rawURL, cfg.Publish)
		if err != nil {
			s.end(StatusError, err.Error(), media.CodeOf(err))
			return
		}
		pub = next
	}
}

// adapt takes one sample of the stream for its bitrate controller and
// applies a change to the encoder, telling everyone why.
func (s *stream) adapt(rc *rateControl, pl *pipeline.Pipeline) {
	s.m.mu.Lock()
	active := s.status == StatusActive
	s.m.mu.Unlock()
	if !active {
		return
	}
	d := rc.update(pl.Stats(), time.Now())
	if d.RungChanged {
		// The video loop applies it at its next frame, a keyframe first.
		r := rc.rungs[d.Rung]
		pl.SetRung(r)
		s.m.mu.Lock()
		s.ladderReason = d.RungReason
		if s.status == StatusActive {
			s.m.publishLocked(s.eventLocked(StatusActive, "video "+r.String()+": "+d.RungReason, "", s.statsLocked()))
		}
		s.m.mu.Unlock()
	}
	if !d.Changed {
		return
	}
	if err := pl.Encoder().SetBitrate(d.Bitrate); err != nil {
		return // an encoder that cannot change keeps its rate; the next decision tries again
	}
	s.m.mu.Lock()
	s.videoRate, s.rateReason = d.Bitrate, d.Reason
	if s.status == StatusActive {
		s.m.publishLocked(s.eventLocked(StatusActive, "video bitrate "+strconv.Itoa(d.Bitrate/1000)+" kbit/s: "+d.Reason, "", s.statsLocked()))
	}
	s.m.mu.Unlock()
}

// backoff waits between reconnect attempts. Keep-alives still count while
// it waits: the cloud keeps sending them through an outage of the ingest,
// and a wait longer than the keep-alive timeout must not read as silence.
func (s *stream) backoff(wait time.Duration, limit, keepalive <-chan time.Time, kaTimer *time.Timer) (media.Code, bool) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return "", false
		case <-s.kick:
			if kaTimer != nil {
				kaTimer.Reset(s.m.cfg.KeepAliveTimeout)
			}
		case reason := <-s.stop:
			return reason, true
		case <-limit:
			return media.CodeDurationLimit, true
		case <-keepalive:
			return media.CodeKeepaliveTimeout, true
		}
	}
}

// finish stops a stream whose publisher is running: capture ends, the
// publisher sends what is queued (bounded by StopTimeout), the cue plays.
func (s *stream) finish(pl *pipeline.Pipeline, pub publish.Publisher, res <-chan error, cancel context.CancelFunc, reason media.Code) {
	s.set(StatusStopping, stopMessage(reason), reason)
	pl.Finish()
	select {
	case <-res:
	case <-time.After(s.m.cfg.StopTimeout):
		cancel()
		<-res
	}
	cancel()
	s.stopped(reason)
}

// finishIdle stops a stream between reconnect attempts.
func (s *stream) finishIdle(reason media.Code) {
	s.set(StatusStopping, stopMessage(reason), reason)
	s.stopped(reason)
}

func (s *stream) stopped(reason media.Code) {
	if s.sound() && s.m.cfg.Cues != nil {
		s.m.cfg.Cues.PlayStop()
	}
	s.end(StatusStopped, stopMessage(reason), reason)
}

func stopMessage(reason media.Code) string {
	switch reason {
	case media.CodeDurationLimit:
		return "duration limit reached"
	case media.CodeKeepaliveTimeout:
		return "no keep-alive from the cloud in time"
	}
	return "stopped on request"
}

package control

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/glassagent/glassagent/control/pipeline"
	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/publish"
)

// MaxDurationLimit is the longest durationLimit a request may ask for.
const MaxDurationLimit = 24 * 60 * 60

// Manager owns the camera: it runs at most one stream at a time, exclusive
// for an unmanaged stream, shared by its holders for the managed one.
type Manager struct {
	cfg     Config
	schemes publish.Schemes

	mu     sync.Mutex
	cur    *stream // the stream that holds the camera, if any
	nextID int
	subs   map[chan Event]struct{}
	closed bool
	wg     sync.WaitGroup

	// watchdog progress (Healthy)
	lastFrames   uint64
	lastProgress time.Time
}

// NewManager makes a manager; Close stops its streams.
func NewManager(cfg Config, schemes publish.Schemes) *Manager {
	return &Manager{cfg: cfg.withDefaults(), schemes: schemes, subs: map[chan Event]struct{}{}}
}

// Subscribe returns a channel of every event from now on, and a function to
// unsubscribe. A subscriber that does not keep up loses events rather than
// holding the streams back.
func (m *Manager) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		if _, ok := m.subs[ch]; ok {
			delete(m.subs, ch)
			close(ch)
		}
		m.mu.Unlock()
	}
}

// publishLocked sends an event to every subscriber. m.mu is held, which
// also orders events as the state changes happened.
func (m *Manager) publishLocked(e Event) {
	for ch := range m.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// spec turns a request into a pipeline spec, with defaults filled in and
// every value checked.
func (m *Manager) spec(req StartRequest, audio media.Codec) (pipeline.Spec, error) {
	v, a := req.Video, req.Audio
	d := m.cfg
	if v.Width == 0 && v.Height == 0 {
		v.Width, v.Height = d.Video.Width, d.Video.Height
	}
	if v.Bitrate == 0 {
		v.Bitrate = d.Video.Bitrate
	}
	if v.FrameRate == 0 {
		v.FrameRate = d.Video.FrameRate
	}
	if a.Bitrate == 0 {
		a.Bitrate = d.Audio.Bitrate
	}
	if a.SampleRate == 0 {
		a.SampleRate = d.Audio.SampleRate
		if audio == media.CodecOpus {
			a.SampleRate = 48000
		}
	}
	s := pipeline.Spec{
		Camera: d.Camera, Mic: d.Mic, Encoder: d.Encoder,
		Width: v.Width, Height: v.Height, FPS: v.FrameRate, Bitrate: v.Bitrate,
		AudioCodec: audio, SampleRate: a.SampleRate, Channels: d.Channels, AudioBitrate: a.Bitrate,
		NoiseSuppression: a.NoiseSuppression, EchoCancellation: a.EchoCancellation,
	}
	return s, s.Validate()
}

// Check validates a start request as Start would, without touching the
// camera: what a caller (or a fuzzer) uses to learn whether a request is
// well formed.
func (m *Manager) Check(req StartRequest) error {
	_, _, _, err := m.prepare(req)
	return err
}

// prepare checks a request and fills in its defaults: the publisher for its
// URL (which validates the URL without connecting) and the pipeline spec.
// It reads only what never changes after NewManager, so it runs unlocked.
func (m *Manager) prepare(req StartRequest) (StartRequest, publish.Publisher, pipeline.Spec, error) {
	switch req.Kind {
	case Unmanaged, Managed:
	case "":
		req.Kind = Unmanaged
	default:
		return req, nil, pipeline.Spec{}, media.Errorf(media.CodeInvalidConfig, "kind %q: must be managed or unmanaged", req.Kind)
	}
	if req.Holder == "" {
		req.Holder = "local"
	}
	if len(req.Holder) > 128 {
		return req, nil, pipeline.Spec{}, media.Errorf(media.CodeInvalidConfig, "holder is %d characters, at most 128", len(req.Holder))
	}
	if d := req.Stream.DurationLimit; d < 0 || d > MaxDurationLimit {
		return req, nil, pipeline.Spec{}, media.Errorf(media.CodeInvalidConfig, "durationLimit %d s: must be 0 (none) to %d", d, MaxDurationLimit)
	}
	pub, err := m.schemes.New(req.URL, m.cfg.Publish)
	if err != nil {
		return req, nil, pipeline.Spec{}, err
	}
	spec, err := m.spec(req, pub.AudioCodec())
	if err != nil {
		return req, nil, pipeline.Spec{}, err
	}
	return req, pub, spec, nil
}

// Start starts a stream, or adds a holder to the running managed stream.
// Everything that can be checked is checked before anything starts (a
// holder joining is checked like a new start): a bad request changes
// nothing.
func (m *Manager) Start(req StartRequest) (Info, error) {
	req, pub, spec, err := m.prepare(req)
	if err != nil {
		return Info{}, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Info{}, media.Errorf(media.CodeInternal, "shutting down")
	}
	if err := m.checkBattery(); err != nil {
		return Info{}, err
	}
	for s := m.cur; s != nil; s = m.cur {
		if req.Kind != Managed || s.kind != Managed {
			return Info{}, media.Errorf(media.CodeCameraBusy, "the camera is in use by a %s stream held by %s", s.kind, strings.Join(s.holders, ", "))
		}
		if s.ending {
			// Its last holder left (or a limit ended it): joining would
			// hold a stream that is about to stop. Wait for the camera
			// to be free and start a new one.
			m.mu.Unlock()
			<-s.done
			m.mu.Lock()
			if m.closed {
				return Info{}, media.Errorf(media.CodeInternal, "shutting down")
			}
			continue
		}
		if !slices.Contains(s.holders, req.Holder) {
			s.holders = append(s.holders, req.Holder)
		}
		m.publishLocked(s.eventLocked(s.status, "holder "+req.Holder+" joined", "", nil))
		return s.infoLocked(), nil
	}
	m.nextID++
	s := &stream{
		m: m, id: fmt.Sprintf("s%d", m.nextID), kind: req.Kind, rawURL: req.URL, shown: publish.RedactURL(req.URL),
		req: req, spec: spec, holders: []string{req.Holder}, status: StatusInitializing, startedAt: time.Now(),
		stop: make(chan media.Code, 1), kick: make(chan struct{}, 1), done: make(chan struct{}),
		setRate: make(chan int, 1), videoRate: spec.Bitrate,
	}
	m.cur = s
	m.publishLocked(s.eventLocked(StatusInitializing, "starting "+s.shown, "", nil))
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		s.run(pub)
	}()
	return s.infoLocked(), nil
}

// Stop removes holder from stream id; the stream stops when no holder is
// left (an unmanaged stream has one). It returns once the stream has
// stopped and the camera is free, or the holder was removed.
func (m *Manager) Stop(id, holder string) (Info, error) {
	m.mu.Lock()
	s := m.cur
	if s == nil || (id != "" && s.id != id) {
		m.mu.Unlock()
		return Info{}, media.Errorf(media.CodeNotFound, "no stream %q is running", id)
	}
	if holder != "" {
		// A holder may only let go of what it holds; without a holder the
		// stream stops whoever holds it (the device's owner asking).
		i := slices.Index(s.holders, holder)
		if i < 0 {
			m.mu.Unlock()
			return Info{}, media.Errorf(media.CodeNotFound, "%s does not hold stream %s", holder, s.id)
		}
		if s.kind == Managed && len(s.holders) > 1 {
			s.holders = slices.Delete(s.holders, i, i+1)
			m.publishLocked(s.eventLocked(s.status, "holder "+holder+" left", "", nil))
			info := s.infoLocked()
			m.mu.Unlock()
			return info, nil
		}
	}
	// From here nobody joins it: a managed start waits for it to end and
	// starts afresh.
	s.ending = true
	m.mu.Unlock()
	s.requestStop("")
	<-s.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.infoLocked(), nil
}

// KeepAlive feeds the keep-alive watchdog of stream id.
func (m *Manager) KeepAlive(id string) error {
	m.mu.Lock()
	s := m.cur
	m.mu.Unlock()
	if s == nil || s.id != id {
		return media.Errorf(media.CodeNotFound, "no stream %q is running", id)
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// SetBitrate changes the video bitrate of stream id while it runs.
func (m *Manager) SetBitrate(id string, bps int) error {
	if bps < pipeline.MinBitrate || bps > pipeline.MaxBitrate {
		return media.Errorf(media.CodeInvalidConfig, "bitrate %d bit/s: must be %d to %d", bps, pipeline.MinBitrate, pipeline.MaxBitrate)
	}
	// Under m.mu: a stream marks itself ending under it before it closes
	// its encoder, so the encoder is never touched after it was closed.
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.cur
	if s == nil || s.id != id {
		return media.Errorf(media.CodeNotFound, "no stream %q is running", id)
	}
	if s.pl == nil {
		return media.Errorf(media.CodeNotFound, "stream %s has no encoder running yet", id)
	}
	if s.ending {
		return media.Errorf(media.CodeNotFound, "stream %s is stopping", id)
	}
	if err := s.pl.Encoder().SetBitrate(bps); err != nil {
		return err
	}
	s.videoRate, s.rateReason = bps, "set through the API"
	// The bitrate controller takes it as its new ceiling; a newer request
	// replaces one it has not read yet.
	select {
	case <-s.setRate:
	default:
	}
	s.setRate <- bps
	return nil
}

// FeedEcho tells the running stream's echo canceller what the device's
// speaker plays (from wall-clock instant at on). The cue player calls it for
// every cue; with no stream, or none cancelling echo, it does nothing.
func (m *Manager) FeedEcho(samples []int16, f media.AudioFormat, at time.Time) {
	m.mu.Lock()
	var pl *pipeline.Pipeline
	if m.cur != nil && !m.cur.ending {
		pl = m.cur.pl
	}
	m.mu.Unlock()
	if pl != nil {
		_ = pl.FeedEcho(samples, f, at) // the format is the player's own: it cannot be refused
	}
}

// List answers "is a stream running?": the stream holding the camera, if any.
func (m *Manager) List() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil {
		return []Info{}
	}
	return []Info{m.cur.infoLocked()}
}

// Healthy reports whether the manager answers and an active stream's
// encoder is making progress: what the systemd watchdog pings on, so a
// stuck pipeline gets the service restarted.
func (m *Manager) Healthy(stall time.Duration) error {
	m.mu.Lock()
	s := m.cur
	var pl *pipeline.Pipeline
	active := false
	if s != nil {
		pl, active = s.pl, s.status == StatusActive
	}
	m.mu.Unlock()
	if pl == nil || !active {
		return nil
	}
	frames := pl.Stats().FramesEncoded
	m.mu.Lock()
	defer m.mu.Unlock()
	if frames != m.lastFrames {
		m.lastFrames, m.lastProgress = frames, time.Now()
		return nil
	}
	if m.lastProgress.IsZero() {
		m.lastProgress = time.Now()
	}
	if time.Since(m.lastProgress) > stall {
		return fmt.Errorf("stream %s has encoded no frame for %v", s.id, time.Since(m.lastProgress).Round(time.Second))
	}
	return nil
}

// Close stops every stream and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	s := m.cur
	m.mu.Unlock()
	if s != nil {
		s.requestStop("")
	}
	m.wg.Wait()
	m.mu.Lock()
	for ch := range m.subs {
		delete(m.subs, ch)
		close(ch)
	}
	m.mu.Unlock()
}

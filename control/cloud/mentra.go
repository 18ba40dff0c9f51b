package cloud

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media"
)

// The MentraOS dialect: the glasses-side streaming messages of that
// platform's SDK (client-cloud message types), mapped onto the same manager
// calls as our own. A connection that speaks it gets only it back. See
// docs/mentraos.md for the mapping.

// isMentra reports whether a message type belongs to the dialect.
func isMentra(typ string) bool {
	switch typ {
	case "start_rtmp_stream", "stop_rtmp_stream", "keep_rtmp_stream_alive", "get_rtmp_status":
		return true
	}
	return false
}

// mentraConfig is the platform's video/audio/stream objects, read
// leniently: the platform has spelt fields more than one way.
type mentraVideo struct {
	Width     *int `json:"width"`
	Height    *int `json:"height"`
	Bitrate   *int `json:"bitrate"`
	FrameRate *int `json:"frameRate"`
	FPS       *int `json:"fps"`
}

type mentraAudio struct {
	Bitrate          *int  `json:"bitrate"`
	SampleRate       *int  `json:"sampleRate"`
	SampleRateSnake  *int  `json:"sample_rate"`
	EchoCancellation *bool `json:"echoCancellation"`
	NoiseSuppression *bool `json:"noiseSuppression"`
}

type mentraStream struct {
	DurationLimit *int `json:"durationLimit"`
}

type mentraStart struct {
	Type     string        `json:"type"`
	RTMPURL  string        `json:"rtmpUrl"`
	AppID    string        `json:"appId"`
	StreamID string        `json:"streamId"`
	Video    *mentraVideo  `json:"video"`
	Audio    *mentraAudio  `json:"audio"`
	Stream   *mentraStream `json:"stream"`
	Sound    *bool         `json:"sound"`
}

type mentraStop struct {
	Type     string `json:"type"`
	AppID    string `json:"appId"`
	StreamID string `json:"streamId"`
}

type mentraKeepAlive struct {
	Type     string `json:"type"`
	StreamID string `json:"streamId"`
	AckID    string `json:"ackId"`
}

// MentraStatus is rtmp_stream_status.
type MentraStatus struct {
	Type         string       `json:"type"`
	StreamID     string       `json:"streamId,omitempty"`
	AppID        string       `json:"appId,omitempty"`
	Status       string       `json:"status"`
	ErrorDetails string       `json:"errorDetails,omitempty"`
	Message      string       `json:"message,omitempty"`
	Stats        *MentraStats `json:"stats,omitempty"`
	Timestamp    time.Time    `json:"timestamp"`
}

// MentraStats are the platform's stream stats.
type MentraStats struct {
	Bitrate       int     `json:"bitrate"`
	FPS           float64 `json:"fps"`
	DroppedFrames uint64  `json:"droppedFrames"`
	Duration      float64 `json:"duration"` // seconds
}

// bitrate reads a platform bitrate: bit/s, or kbit/s when below 10000 (the
// asg_client reference sends kbit/s; the SDK types bit/s).
func bitrate(v int) int {
	if v > 0 && v < 10000 {
		return v * 1000
	}
	return v
}

func (v *mentraVideo) config() control.VideoConfig {
	var c control.VideoConfig
	if v == nil {
		return c
	}
	if v.Width != nil {
		c.Width = *v.Width
	}
	if v.Height != nil {
		c.Height = *v.Height
	}
	if v.Bitrate != nil {
		c.Bitrate = bitrate(*v.Bitrate)
	}
	if v.FrameRate != nil {
		c.FrameRate = *v.FrameRate
	} else if v.FPS != nil {
		c.FrameRate = *v.FPS
	}
	return c
}

func (a *mentraAudio) config() control.AudioConfig {
	var c control.AudioConfig
	if a == nil {
		return c
	}
	if a.Bitrate != nil {
		c.Bitrate = bitrate(*a.Bitrate)
	}
	if a.SampleRate != nil {
		c.SampleRate = *a.SampleRate
	} else if a.SampleRateSnake != nil {
		c.SampleRate = *a.SampleRateSnake
	}
	c.EchoCancellation = a.EchoCancellation != nil && *a.EchoCancellation
	c.NoiseSuppression = a.NoiseSuppression != nil && *a.NoiseSuppression
	return c
}

// mentra is one connection's dialect state: the platform names streams
// itself (streamId), so we keep its names for ours, and remember each
// stream's last status to tell "reconnected" from "streaming".
type mentra struct {
	mu     sync.Mutex
	theirs map[string]string // our stream ID -> their streamId
	ours   map[string]string // their streamId -> our stream ID
	app    map[string]string // our stream ID -> appId
	last   map[string]control.Status
}

func newMentra() *mentra {
	return &mentra{theirs: map[string]string{}, ours: map[string]string{}, app: map[string]string{}, last: map[string]control.Status{}}
}

func (d *mentra) errStatus(streamID string, code, msg string) MentraStatus {
	return MentraStatus{Type: "rtmp_stream_status", StreamID: streamID, Status: "error", ErrorDetails: code, Message: msg, Timestamp: time.Now()}
}

func (d *mentra) fail(streamID string, err error) MentraStatus {
	msg := err.Error()
	if me, ok := err.(*media.Error); ok {
		msg = me.Message()
	}
	return d.errStatus(streamID, string(media.CodeOf(err)), msg)
}

// handle runs one dialect message.
func (d *mentra) handle(m Manager, typ string, msg []byte) any {
	switch typ {
	case "start_rtmp_stream":
		var s mentraStart
		if err := json.Unmarshal(msg, &s); err != nil {
			return d.errStatus("", "bad_request", "start_rtmp_stream: "+err.Error())
		}
		if s.RTMPURL == "" {
			return d.errStatus(s.StreamID, "bad_request", "start_rtmp_stream: rtmpUrl is missing")
		}
		if s.AppID == "" {
			s.AppID = "mentraos"
		}
		req := control.StartRequest{Kind: control.Unmanaged, URL: s.RTMPURL, Holder: s.AppID,
			Video: s.Video.config(), Audio: s.Audio.config(), Sound: s.Sound, KeepAlive: true}
		if s.Stream != nil && s.Stream.DurationLimit != nil {
			req.Stream.DurationLimit = *s.Stream.DurationLimit
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		info, err := m.Start(req)
		if err != nil {
			return d.fail(s.StreamID, err)
		}
		name := s.StreamID
		if name == "" {
			name = info.StreamID
		}
		d.theirs[info.StreamID], d.ours[name], d.app[info.StreamID] = name, info.StreamID, s.AppID
		return nil // the status events follow
	case "stop_rtmp_stream":
		var s mentraStop
		if err := json.Unmarshal(msg, &s); err != nil {
			return d.errStatus("", "bad_request", "stop_rtmp_stream: "+err.Error())
		}
		id := d.ourID(m, s.StreamID)
		if id == "" {
			return d.errStatus(s.StreamID, string(media.CodeNotFound), "no stream is running")
		}
		if _, err := m.Stop(id, ""); err != nil {
			return d.fail(s.StreamID, err)
		}
		return nil
	case "keep_rtmp_stream_alive":
		var k mentraKeepAlive
		if err := json.Unmarshal(msg, &k); err != nil {
			return d.errStatus("", "bad_request", "keep_rtmp_stream_alive: "+err.Error())
		}
		id := d.ourID(m, k.StreamID)
		if id == "" {
			return d.errStatus(k.StreamID, string(media.CodeNotFound), "no stream "+k.StreamID+" is running")
		}
		if err := m.KeepAlive(id); err != nil {
			return d.fail(k.StreamID, err)
		}
		return map[string]any{"type": "keep_alive_ack", "streamId": k.StreamID, "ackId": k.AckID, "timestamp": time.Now()}
	case "get_rtmp_status":
		reply := map[string]any{"type": "rtmp_status_response", "streaming": false, "reconnecting": false, "status": "stopped", "timestamp": time.Now()}
		for _, s := range m.List() {
			st := d.translate(s.StreamID, s.Status, "", false)
			reply["status"] = st
			reply["streaming"] = s.Status == control.StatusActive
			reply["reconnecting"] = s.Status == control.StatusReconnecting
			reply["streamId"] = d.theirName(s.StreamID)
		}
		return reply
	}
	return nil
}

// ourID finds our stream for their name; an empty name means the running
// stream (the platform has one at a time).
func (d *mentra) ourID(m Manager, theirs string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.ours[theirs]; ok {
		return id
	}
	if l := m.List(); len(l) == 1 && (theirs == "" || theirs == l[0].StreamID) {
		return l[0].StreamID
	}
	return ""
}

func (d *mentra) theirName(ours string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, ok := d.theirs[ours]; ok {
		return n
	}
	return ours
}

// translate maps our status onto the platform's values. update records it
// as the stream's last status.
func (d *mentra) translate(id string, st control.Status, code media.Code, update bool) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := d.last[id]
	if update {
		d.last[id] = st
	}
	switch st {
	case control.StatusActive:
		if prev == control.StatusReconnecting {
			return "reconnected"
		}
		return "streaming"
	case control.StatusStopped, control.StatusStopping:
		if code == media.CodeKeepaliveTimeout {
			return "timeout"
		}
	case control.StatusError:
		if prev == control.StatusReconnecting {
			return "reconnect_failed"
		}
	}
	return string(st)
}

// status turns one of our events into rtmp_stream_status.
func (d *mentra) status(e control.Event) MentraStatus {
	out := MentraStatus{Type: "rtmp_stream_status", StreamID: d.theirName(e.StreamID), Status: d.translate(e.StreamID, e.Status, e.ErrorDetails, true),
		ErrorDetails: string(e.ErrorDetails), Message: e.Message, Timestamp: e.Timestamp}
	d.mu.Lock()
	out.AppID = d.app[e.StreamID]
	d.mu.Unlock()
	if out.AppID == "" && len(e.Holders) > 0 {
		out.AppID = e.Holders[0]
	}
	if e.Stats != nil {
		out.Stats = &MentraStats{Bitrate: e.Stats.Bitrate, FPS: e.Stats.FPS, DroppedFrames: e.Stats.DroppedFrames, Duration: e.Stats.Uptime}
	}
	return out
}

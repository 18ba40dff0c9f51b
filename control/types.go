package control

import (
	"time"

	"github.com/glassagent/glassagent/media"
)

// Kind is how a stream holds the camera.
type Kind string

// Stream kinds (../shared/notes/protocols.md, "The stream API").
const (
	// Unmanaged: one URL given by an app, exclusive use of the camera.
	Unmanaged Kind = "unmanaged"
	// Managed: the cloud's ingest, shared by every app that holds it; it
	// runs until the last holder stops.
	Managed Kind = "managed"
)

// Status is a stream's state.
type Status string

// The states of a stream. error is final for that attempt; a new start is a
// new attempt.
const (
	StatusInitializing Status = "initializing"
	StatusConnecting   Status = "connecting"
	StatusActive       Status = "active"
	StatusReconnecting Status = "reconnecting"
	StatusStopping     Status = "stopping"
	StatusStopped      Status = "stopped"
	StatusError        Status = "error"
)

// VideoConfig is what an app may ask of the video.
type VideoConfig struct {
	Width     int `json:"width,omitempty"`
	Height    int `json:"height,omitempty"`
	Bitrate   int `json:"bitrate,omitempty"` // bit/s
	FrameRate int `json:"frameRate,omitempty"`
}

// AudioConfig is what an app may ask of the audio.
type AudioConfig struct {
	Bitrate          int  `json:"bitrate,omitempty"` // bit/s
	SampleRate       int  `json:"sampleRate,omitempty"`
	EchoCancellation bool `json:"echoCancellation,omitempty"`
	NoiseSuppression bool `json:"noiseSuppression,omitempty"`
}

// StreamConfig holds per-stream limits.
type StreamConfig struct {
	// DurationLimit in seconds: the stream stops itself with reason
	// duration_limit. 0: no limit.
	DurationLimit int `json:"durationLimit,omitempty"`
}

// StartRequest starts a stream, or joins the running managed stream.
type StartRequest struct {
	Kind   Kind         `json:"kind"`
	URL    string       `json:"url"`
	Holder string       `json:"holder"` // the app asking
	Video  VideoConfig  `json:"video"`
	Audio  AudioConfig  `json:"audio"`
	Stream StreamConfig `json:"stream"`
	// Sound plays the start and stop cues (default true).
	Sound *bool `json:"sound,omitempty"`
	// KeepAlive makes the stream subject to the keep-alive watchdog: set for
	// streams the cloud starts.
	KeepAlive bool `json:"-"`
}

// Stats is what an active stream reports.
type Stats struct {
	Bitrate       int     `json:"bitrate"` // bit/s sent
	FPS           float64 `json:"fps"`
	RTTMs         float64 `json:"rttMs"`
	Loss          float64 `json:"loss"`
	DroppedFrames uint64  `json:"droppedFrames"`
	Reconnects    int     `json:"reconnects"`
	Uptime        float64 `json:"uptime"` // seconds
	// VideoBitrate is the encoder's target now, bit/s: where the bitrate
	// controller (or the API) put it; BitrateReason says why it last moved.
	VideoBitrate  int    `json:"videoBitrate,omitempty"`
	BitrateReason string `json:"bitrateReason,omitempty"`
	// Resolution ("960x540") and FrameRate are what the encoder makes
	// now: the stream's own, or a rung of the ladder; LadderReason says
	// why the rung last changed ("ladder down: bitrate floor", ...).
	Resolution   string `json:"resolution,omitempty"`
	FrameRate    int    `json:"frameRate,omitempty"`
	LadderReason string `json:"ladderReason,omitempty"`
}

// Event is a stream's status change (or, while active, a periodic stats
// report).
type Event struct {
	StreamID     string     `json:"streamId"`
	Kind         Kind       `json:"kind"`
	Status       Status     `json:"status"`
	Message      string     `json:"message,omitempty"`
	ErrorDetails media.Code `json:"errorDetails,omitempty"`
	Stats        *Stats     `json:"stats,omitempty"`
	Holders      []string   `json:"holders,omitempty"`
	Timestamp    time.Time  `json:"timestamp"`
}

// Info answers "is a stream running?".
type Info struct {
	StreamID  string    `json:"streamId"`
	Kind      Kind      `json:"kind"`
	URL       string    `json:"url"` // secrets redacted
	Status    Status    `json:"status"`
	StartedAt time.Time `json:"startedAt"`
	Holders   []string  `json:"holders"`
	// Pipeline says which video encoder runs (hardware or software, and
	// why) and which audio stages.
	Pipeline string `json:"pipeline,omitempty"`
	Stats    *Stats `json:"stats,omitempty"`
}

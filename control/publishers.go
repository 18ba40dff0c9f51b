// Package control owns the lifecycle of streams: which publisher runs for a
// URL, the stream manager and its state machine, limits and keep-alives.
package control

import (
	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/publish/rtmp"
	"github.com/glassagent/glassagent/publish/srt"
	"github.com/glassagent/glassagent/publish/whip"
)

// Publishers returns the URL schemes glassagent publishes to.
func Publishers() publish.Schemes {
	return publish.Schemes{
		"srt":   srt.New,
		"rtmp":  rtmp.New,
		"rtmps": rtmp.New,
		"https": whip.New,
		"http":  whip.New,
	}
}

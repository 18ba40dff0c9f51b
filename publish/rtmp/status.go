//go:build !arm && !386 && !mips && !mipsle

package rtmp

import (
	"io"
	"regexp"

	"github.com/sirupsen/logrus"
)

// onStatus is a NetStream status the server sent.
type onStatus struct {
	level, code, description string
}

// go-rtmp v0.0.7's client has no way to hand a publisher the server's
// onStatus replies (NetStream.Publish.Start, .BadName, ...): it decodes them
// as "unknown command" and only logs them, with the AMF values formatted
// into the message. So the publisher gives the connection a logger whose
// hook picks those lines out. The alternative, registering a decoder in the
// library's global CmdBodyDecoders map, would change every connection in the
// process and crash on the client's handler-less streams.
var onStatusLine = regexp.MustCompile(`Name = onStatus,.*?code:(\S+) description:(.*?) level:(\w+)`)

// statusHook is a logrus hook that forwards onStatus replies.
type statusHook struct{ ch chan<- onStatus }

func (h statusHook) Levels() []logrus.Level { return []logrus.Level{logrus.WarnLevel} }

func (h statusHook) Fire(e *logrus.Entry) error {
	m := onStatusLine.FindStringSubmatch(e.Message)
	if m == nil {
		return nil
	}
	select {
	case h.ch <- onStatus{code: m[1], description: m[2], level: m[3]}:
	default: // nobody waits any more
	}
	return nil
}

// newStatusLogger returns go-rtmp's logger: silent, but feeding ch.
func newStatusLogger(ch chan<- onStatus) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.WarnLevel)
	l.AddHook(statusHook{ch: ch})
	return l
}

package cloud

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media"
)

// refusing checks a start like the manager (Check: every field, the URL,
// the pipeline spec) but never starts anything, so the fuzzers exercise
// decoding and validation without opening devices. A start that passes is
// answered camera_busy, which no check produces on an idle manager.
type refusing struct{ *control.Manager }

func (r *refusing) Start(req control.StartRequest) (control.Info, error) {
	if err := r.Manager.Check(req); err != nil {
		return control.Info{}, err
	}
	return control.Info{}, media.Errorf(media.CodeCameraBusy, "refused by the test")
}

// FuzzHandle: every message gets a reply with a type; a start_stream gets
// the error code that strict decoding and the manager's checks call for,
// with its id when it had one; nothing starts.
func FuzzHandle(f *testing.F) {
	f.Add(`{"type":"start_stream","id":"1","kind":"managed","url":"srt://h:1","holder":"a","video":{"width":640,"height":360}}`)
	f.Add(`{"type":"start_stream","id":"1","url":"srt://h:1?latency=x"}`)
	f.Add(`{"type":"start_stream","id":"1","url":"rtmp://h/a/k","stream":{"durationLimit":-3},"sound":false}`)
	f.Add(`{"type":"stop_stream","id":"2","streamId":"s1"}`)
	f.Add(`{"type":"keep_stream_alive","id":"2","streamId":"s1","holder":"x"}`)
	f.Add(`{"type":"get_stream_status","id":"3"}`)
	f.Add(`not json`)
	m := control.NewManager(control.Defaults(), control.Publishers())
	defer m.Close()
	c := New(Config{}, &refusing{m})
	f.Fuzz(func(t *testing.T, msg string) {
		reply := c.handle([]byte(msg))
		b, err := json.Marshal(reply)
		if err != nil || !strings.Contains(string(b), `"type":`) {
			t.Fatalf("%q: reply %s %v", msg, b, err)
		}
		if len(m.List()) != 0 {
			t.Fatalf("%q started a stream", msg)
		}
		var sm startMsg
		dec := json.NewDecoder(bytes.NewReader([]byte(msg)))
		dec.DisallowUnknownFields()
		if len(msg) > MaxMessage || dec.Decode(&sm) != nil || sm.Type != "start_stream" {
			return
		}
		if _, err := dec.Token(); err != io.EOF {
			return // data after the object: json.Unmarshal refuses it too
		}
		want := media.CodeCameraBusy
		if err := m.Check(control.StartRequest{Kind: sm.Kind, URL: sm.URL, Holder: sm.Holder, Video: sm.Video,
			Audio: sm.Audio, Stream: sm.Stream, Sound: sm.Sound}); err != nil {
			want = media.CodeOf(err)
		}
		r, ok := reply.(Reply)
		if !ok || r.Type != "error" || r.Error == nil || r.Error.Code != string(want) || r.ID != sm.ID {
			t.Fatalf("%q: reply %s, want error %s with id %q", msg, b, want, sm.ID)
		}
	})
}

package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media"
)

// refusing checks a start like the manager (Check: every field, the URL,
// the pipeline spec) but never starts anything, so the fuzzers exercise
// decoding and validation without opening devices. A request that passes
// is answered camera_busy, which no check produces on an idle manager.
type refusing struct{ *control.Manager }

func (r *refusing) Start(req control.StartRequest) (control.Info, error) {
	if err := r.Manager.Check(req); err != nil {
		return control.Info{}, err
	}
	return control.Info{}, media.Errorf(media.CodeCameraBusy, "refused by the test")
}

// FuzzStartBody: every body gets a JSON error with a code, and the code is
// the one the strict decoding and the manager's checks call for.
func FuzzStartBody(f *testing.F) {
	f.Add(`{"url":"srt://h:1","kind":"managed","holder":"a","video":{"width":640,"height":360},"stream":{"durationLimit":5}}`)
	f.Add(`{"url":"rtmp://h/a/k","audio":{"sampleRate":44100}}`)
	f.Add(`{"url":"https://h/whip","video":{"bitrate":-1},"sound":false}`)
	f.Add(`{"url":"srt://h:1","stream":{"durationLimit":1e9}}`)
	f.Add(`[]`)
	m := control.NewManager(control.Defaults(), control.Publishers())
	defer m.Close()
	h := Handler(&refusing{m})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/streams", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%q: status %d without an error code: %s", body, rec.Code, rec.Body)
		}
		// The same body decoded by hand, strictly: the API must agree.
		var sr control.StartRequest
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.DisallowUnknownFields()
		want := "bad_request"
		if dec.Decode(&sr) == nil {
			if _, err := dec.Token(); err == io.EOF {
				if err := m.Check(sr); err != nil {
					want = string(media.CodeOf(err))
				} else {
					want = string(media.CodeCameraBusy)
				}
			}
		}
		if len(body) > MaxBody {
			want = "too_large" // (or bad_request, when the object ended in time)
			if e.Error.Code == "bad_request" {
				want = e.Error.Code
			}
		}
		if e.Error.Code != want {
			t.Fatalf("%q: code %s (HTTP %d), want %s", body, e.Error.Code, rec.Code, want)
		}
		if len(m.List()) != 0 {
			t.Fatalf("%q started a stream", body)
		}
	})
}

// FuzzBitrateBody: the bitrate body is decoded strictly and checked before
// any stream is looked up.
func FuzzBitrateBody(f *testing.F) {
	f.Add(`{"bitrate":1000000}`)
	f.Add(`{"bitrate":-1}`)
	f.Add(`{"bitrate":"fast"}`)
	f.Add(`{"bitrate":1,"x":2}`)
	m := control.NewManager(control.Defaults(), control.Publishers())
	defer m.Close()
	h := Handler(m)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/streams/s1/bitrate", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
			t.Fatalf("%q: status %d without an error code: %s", body, rec.Code, rec.Body)
		}
		switch e.Error.Code {
		case "bad_request", "too_large", "invalid_config", "not_found":
		default:
			t.Fatalf("%q: code %s", body, e.Error.Code)
		}
		if rec.Code == http.StatusOK || rec.Code == http.StatusCreated {
			t.Fatalf("%q: success with no stream", body)
		}
	})
}

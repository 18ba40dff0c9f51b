// Package api is the daemon's local API: HTTP and JSON on a Unix socket, for
// the apps on the device and for `glassagent ctl`. See docs/api.md.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/cloud"
	"github.com/glassagent/glassagent/media"
)

// MaxBody bounds a request body.
const MaxBody = 64 << 10

// Manager is what the API drives (control.Manager).
type Manager interface {
	Start(control.StartRequest) (control.Info, error)
	Stop(id, holder string) (control.Info, error)
	KeepAlive(id string) error
	SetBitrate(id string, bps int) error
	List() []control.Info
	Subscribe() (<-chan control.Event, func())
}

// Handler returns the API's HTTP handler.
func Handler(m Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/streams", func(w http.ResponseWriter, r *http.Request) {
		var req control.StartRequest
		if !decode(w, r, &req) {
			return
		}
		info, err := m.Start(req)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, info)
	})
	mux.HandleFunc("GET /v1/streams", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"streams": m.List()})
	})
	mux.HandleFunc("DELETE /v1/streams/{id}", func(w http.ResponseWriter, r *http.Request) {
		info, err := m.Stop(r.PathValue("id"), r.URL.Query().Get("holder"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("POST /v1/streams/{id}/keepalive", func(w http.ResponseWriter, r *http.Request) {
		if err := m.KeepAlive(r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ack": true, "streamId": r.PathValue("id")})
	})
	mux.HandleFunc("POST /v1/streams/{id}/bitrate", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Bitrate int `json:"bitrate"`
		}
		if !decode(w, r, &req) {
			return
		}
		if err := m.SetBitrate(r.PathValue("id"), req.Bitrate); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"streamId": r.PathValue("id"), "bitrate": req.Bitrate})
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) { serveEvents(w, r, m) })
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { serveMetrics(w, m) })
	// The cloud protocol (docs/control-protocol.md, both dialects) over a
	// WebSocket on the local socket: what `glassagent ctl json` and BLE or
	// serial bridges on the device speak.
	mux.HandleFunc("GET /v1/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered
		}
		defer conn.CloseNow()
		cloud.ServeConn(r.Context(), conn, m, r.URL.Query().Get("dialect"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// decode reads a JSON body strictly: the right content type, a bounded
// size, no unknown fields, nothing after the object.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		writeErr(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeErr(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", MaxBody))
			return false
		}
		writeErr(w, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeErr(w, http.StatusBadRequest, "bad_request", "invalid JSON body: data after the object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Error is the body of every error reply.
type Error struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	var e Error
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// writeError maps a manager error to its HTTP status, keeping its code.
func writeError(w http.ResponseWriter, err error) {
	code := media.CodeOf(err)
	msg := err.Error()
	var me *media.Error
	if errors.As(err, &me) {
		msg = me.Message()
	}
	status := http.StatusInternalServerError
	switch code {
	case media.CodeInvalidConfig, media.CodeInvalidURL, media.CodeUnsupportedScheme, media.CodeUnsupported:
		status = http.StatusBadRequest
	case media.CodeCameraBusy, media.CodeBatteryLow:
		status = http.StatusConflict
	case media.CodeNotFound:
		status = http.StatusNotFound
	}
	writeErr(w, status, string(code), msg)
}

// serveEvents streams status events as server-sent events until the client
// goes away.
func serveEvents(w http.ResponseWriter, r *http.Request, m Manager) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, http.StatusInternalServerError, "internal", "streaming unsupported")
		return
	}
	ch, unsub := m.Subscribe()
	defer unsub()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	// The current state first, so a watcher needs no second request.
	for _, s := range m.List() {
		writeEvent(w, "stream", s)
	}
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			writeEvent(w, "status", e)
			fl.Flush()
		case <-ping.C:
			io.WriteString(w, ": ping\n\n")
			fl.Flush()
		}
	}
}

func writeEvent(w io.Writer, name string, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
}

// Listen opens the Unix socket at path with the given file mode, replacing a
// stale socket left by a crash (but nothing that is not a socket).
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("API socket %s: exists and is not a socket", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("API socket: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("API socket %s: %w", path, err)
	}
	return ln, nil
}

// Serve runs the API on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, m Manager) error {
	srv := &http.Server{Handler: Handler(m), ReadHeaderTimeout: 5 * time.Second}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	defer stop()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Client talks to the API over its socket.
type Client struct {
	HTTP *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{HTTP: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

// Do sends a request and decodes the reply into out; an error reply comes
// back as a *media.Error with the server's code.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://glassagent"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("glassagent daemon: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Code == "" {
			return fmt.Errorf("glassagent daemon: HTTP %d", resp.StatusCode)
		}
		return &media.Error{Code: media.Code(e.Error.Code), Msg: e.Error.Message}
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Package cloud is the daemon's link to the cloud: a WebSocket it keeps
// open, over which the cloud starts, stops and keeps alive streams, and
// hears every status change. See docs/control-protocol.md.
package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media"
)

// MaxMessage bounds a command; a longer one gets an error reply. Frames up
// to readLimit are read (and refused) without dropping the connection.
const (
	MaxMessage = 64 << 10
	readLimit  = 4 << 20
)

// Manager is what the cloud drives (control.Manager).
type Manager interface {
	Start(control.StartRequest) (control.Info, error)
	Stop(id, holder string) (control.Info, error)
	KeepAlive(id string) error
	List() []control.Info
	Subscribe() (<-chan control.Event, func())
}

// Config is where and how to reach the cloud.
type Config struct {
	URL   string
	Token string // bearer token, read from a file by the caller; never logged
	// Backoff between connection attempts: doubles from Initial to Max.
	BackoffInitial, BackoffMax time.Duration
	// OnState, if set, hears "connected"/"disconnected" with the reason.
	OnState func(state string, err error)
	// StableAfter: a connection that stayed up this long counts as
	// working, and the backoff starts over after it drops (default 10 s).
	// One dropped sooner keeps backing off, so a cloud that accepts and
	// hangs up at once is not hammered.
	StableAfter time.Duration
	// Dialect is what to speak before the cloud has said anything:
	// "glassagent" (default) or "mentraos". Either way, a connection that
	// sends a command of the other dialect is answered in it from then on.
	Dialect string
}

// Client keeps the cloud connection up until its context ends.
type Client struct {
	cfg    Config
	m      Manager
	mentra *mentra // kept across connections: the platform's stream names
}

// New makes a client.
func New(cfg Config, m Manager) *Client {
	if cfg.BackoffInitial <= 0 {
		cfg.BackoffInitial = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = 10 * time.Second
	}
	return &Client{cfg: cfg, m: m, mentra: newMentra()}
}

// Run connects, serves, and reconnects with backoff until ctx ends.
func (c *Client) Run(ctx context.Context) error {
	events, unsub := c.m.Subscribe()
	defer unsub()
	backoff := c.cfg.BackoffInitial
	for {
		up, err := c.session(ctx, events)
		if ctx.Err() != nil {
			return nil
		}
		if c.cfg.OnState != nil {
			c.cfg.OnState("disconnected", err)
		}
		if up >= c.cfg.StableAfter {
			// It worked: a drop after a working connection starts the
			// backoff over, or a device that loses the cloud now and then
			// would end up waiting the maximum every time.
			backoff = c.cfg.BackoffInitial
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, c.cfg.BackoffMax)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session is one connection: it ends with the connection, and says how long
// the connection was up (0: never established).
func (c *Client) session(ctx context.Context, events <-chan control.Event) (time.Duration, error) {
	h := http.Header{}
	if c.cfg.Token != "" {
		h.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, resp, err := websocket.Dial(dctx, c.cfg.URL, &websocket.DialOptions{HTTPHeader: h})
	cancel()
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return 0, media.Errorf(media.CodeAuthFailed, "cloud refused the token: HTTP %d", resp.StatusCode)
		}
		return 0, media.Errorf(media.CodeConnectFailed, "cloud: %v", err)
	}
	defer conn.CloseNow()
	if c.cfg.OnState != nil {
		c.cfg.OnState("connected", nil)
	}
	since := time.Now()
	err = c.serve(ctx, conn, events)
	return time.Since(since), err
}

// ServeConn speaks the protocol on a connection someone else accepted (the
// local API's WebSocket, for `glassagent ctl json`), until it closes or ctx
// ends. Streams started there are cloud-style: under the keep-alive
// watchdog.
func ServeConn(ctx context.Context, conn *websocket.Conn, m Manager, dialect string) error {
	c := New(Config{Dialect: dialect}, m)
	events, unsub := m.Subscribe()
	defer unsub()
	return c.serve(ctx, conn, events)
}

// serve runs one connection: the state first, then commands in and events
// out, until the connection ends.
func (c *Client) serve(ctx context.Context, conn *websocket.Conn, events <-chan control.Event) error {
	conn.SetReadLimit(readLimit)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wmu sync.Mutex
	send := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		wmu.Lock()
		defer wmu.Unlock()
		wctx, cancel := context.WithTimeout(sctx, 10*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	conv := &conversation{c: c}
	conv.speaksMentra.Store(c.cfg.Dialect == "mentraos")
	// After (re)connecting, the cloud hears the state of every stream.
	// Events queued while it was away are older than that snapshot: sent
	// after it, they would wind a stream's state back (a stream that is
	// active would read "initializing"), so they go.
	for n := len(events); n > 0; n-- {
		<-events
	}
	for _, s := range c.m.List() {
		if err := send(conv.info(s)); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-sctx.Done():
				return
			case e, ok := <-events:
				if !ok {
					return
				}
				if send(conv.event(e)) != nil {
					stop()
					return
				}
			}
		}
	}()
	defer wg.Wait()
	defer stop()
	for {
		typ, msg, err := conn.Read(sctx)
		if err != nil {
			if ctx.Err() != nil {
				conn.Close(websocket.StatusGoingAway, "glassagent stopping")
				return nil
			}
			return fmt.Errorf("cloud connection: %w", err)
		}
		if typ != websocket.MessageText {
			send(errorReply("", "bad_request", "messages are JSON text"))
			continue
		}
		// Commands run one at a time, in order; a stop waits for the
		// stream to end, which is what the cloud expects to be acked.
		if reply := conv.handle(msg); reply != nil {
			if err := send(reply); err != nil {
				return err
			}
		}
	}
}

// Message is the envelope of every message, both ways.
type Message struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// startMsg is start_stream.
type startMsg struct {
	Type   string               `json:"type"`
	ID     string               `json:"id"`
	Kind   control.Kind         `json:"kind"`
	URL    string               `json:"url"`
	Holder string               `json:"holder"`
	Video  control.VideoConfig  `json:"video"`
	Audio  control.AudioConfig  `json:"audio"`
	Stream control.StreamConfig `json:"stream"`
	Sound  *bool                `json:"sound,omitempty"`
}

type streamMsg struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	StreamID string `json:"streamId"`
	Holder   string `json:"holder,omitempty"`
}

// Reply is ack or error.
type Reply struct {
	Type   string        `json:"type"`
	ID     string        `json:"id"`
	Stream *control.Info `json:"stream,omitempty"`
	Error  *ReplyError   `json:"error,omitempty"`
}

// StatusReply answers get_stream_status.
type StatusReply struct {
	Type    string         `json:"type"`
	ID      string         `json:"id"`
	Streams []control.Info `json:"streams"`
}

// ReplyError carries a stable code.
type ReplyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StreamStatus is the unsolicited stream_status message.
type StreamStatus struct {
	Type string `json:"type"`
	control.Event
	URL string `json:"url,omitempty"`
}

func errorReply(id, code, msg string) Reply {
	return Reply{Type: "error", ID: id, Error: &ReplyError{Code: code, Message: msg}}
}

func errReply(id string, err error) Reply {
	msg := err.Error()
	var me *media.Error
	if errors.As(err, &me) {
		msg = me.Message()
	}
	return errorReply(id, string(media.CodeOf(err)), msg)
}

func statusFromEvent(e control.Event) StreamStatus {
	return StreamStatus{Type: "stream_status", Event: e}
}

func statusFromInfo(i control.Info) StreamStatus {
	return StreamStatus{Type: "stream_status", URL: i.URL, Event: control.Event{
		StreamID: i.StreamID, Kind: i.Kind, Status: i.Status, Holders: i.Holders, Stats: i.Stats, Timestamp: time.Now()}}
}

// conversation is one connection: which dialect it speaks.
type conversation struct {
	c            *Client
	speaksMentra atomic.Bool
}

func (v *conversation) event(e control.Event) any {
	if v.speaksMentra.Load() {
		return v.c.mentra.status(e)
	}
	return statusFromEvent(e)
}

func (v *conversation) info(i control.Info) any {
	if v.speaksMentra.Load() {
		return v.c.mentra.status(control.Event{StreamID: i.StreamID, Kind: i.Kind, Status: i.Status, Holders: i.Holders, Stats: i.Stats, Timestamp: time.Now()})
	}
	return statusFromInfo(i)
}

// handle answers one message in the dialect it came in; the first message
// of a dialect switches the connection to it.
func (v *conversation) handle(msg []byte) any {
	if len(msg) <= MaxMessage {
		var env Message
		if json.Unmarshal(msg, &env) == nil && isMentra(env.Type) {
			v.speaksMentra.Store(true)
			return v.c.mentra.handle(v.c.m, env.Type, msg)
		}
	}
	reply := v.c.handle(msg)
	if r, ok := reply.(Reply); ok && r.Error != nil && v.speaksMentra.Load() {
		// A connection speaking the platform's dialect gets its errors
		// in it too.
		return v.c.mentra.errStatus("", r.Error.Code, r.Error.Message)
	}
	return reply
}

// handle runs one command and returns its reply. It never fails the
// connection: whatever arrives gets an answer.
func (c *Client) handle(msg []byte) any {
	if len(msg) > MaxMessage {
		return errorReply("", "too_large", fmt.Sprintf("message of %d bytes, at most %d", len(msg), MaxMessage))
	}
	var env Message
	if err := json.Unmarshal(msg, &env); err != nil {
		return errorReply("", "bad_request", "invalid JSON: "+err.Error())
	}
	strict := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		return dec.Decode(v)
	}
	switch env.Type {
	case "start_stream":
		var m startMsg
		if err := strict(&m); err != nil {
			return errorReply(env.ID, "bad_request", "start_stream: "+err.Error())
		}
		info, err := c.m.Start(control.StartRequest{Kind: m.Kind, URL: m.URL, Holder: m.Holder, Video: m.Video, Audio: m.Audio,
			Stream: m.Stream, Sound: m.Sound, KeepAlive: true})
		if err != nil {
			return errReply(m.ID, err)
		}
		return Reply{Type: "ack", ID: m.ID, Stream: &info}
	case "stop_stream":
		var m streamMsg
		if err := strict(&m); err != nil {
			return errorReply(env.ID, "bad_request", "stop_stream: "+err.Error())
		}
		info, err := c.m.Stop(m.StreamID, m.Holder)
		if err != nil {
			return errReply(m.ID, err)
		}
		return Reply{Type: "ack", ID: m.ID, Stream: &info}
	case "keep_stream_alive":
		var m streamMsg
		if err := strict(&m); err != nil {
			return errorReply(env.ID, "bad_request", "keep_stream_alive: "+err.Error())
		}
		if err := c.m.KeepAlive(m.StreamID); err != nil {
			return errReply(m.ID, err)
		}
		return Reply{Type: "ack", ID: m.ID}
	case "get_stream_status":
		var m Message
		if err := strict(&m); err != nil {
			return errorReply(env.ID, "bad_request", "get_stream_status: "+err.Error())
		}
		return StatusReply{Type: "ack", ID: m.ID, Streams: c.m.List()}
	case "":
		return errorReply(env.ID, "bad_request", "message has no type")
	}
	return errorReply(env.ID, "unknown_type", fmt.Sprintf("unknown message type %q", env.Type))
}

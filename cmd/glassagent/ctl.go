package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/api"
)

const ctlUsage = `Usage: glassagent ctl [--socket PATH] COMMAND

Commands:
  start URL [--managed] [--holder APP] [--size WxH] [--fps N] [--bitrate BPS]
            [--duration-limit SECONDS] [--no-sound]
  stop ID [--holder APP]
  status
  watch
  keepalive ID
  bitrate ID BPS
  json [--dialect glassagent|mentraos]
            JSON messages from stdin, one a line (docs/control-protocol.md,
            docs/mentraos.md); every reply and event printed as a JSON line;
            ends when stdin closes and the streams it started have stopped
`

// runCtl is `glassagent ctl`: the local API from the shell. Replies are
// printed as JSON.
func runCtl(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, ctlUsage) }
	socket := fs.String("socket", defaultSocket, "local API Unix socket")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	c := api.NewClient(*socket)
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	print := func(v any) {
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(stdout, string(b))
	}
	switch cmd {
	case "start":
		sf := flag.NewFlagSet("ctl start", flag.ContinueOnError)
		sf.SetOutput(stderr)
		managed := sf.Bool("managed", false, "a managed (shared) stream")
		holder := sf.String("holder", "ctl", "the app holding the stream")
		size := sf.String("size", "", "video size WxH")
		fps := sf.Int("fps", 0, "frame rate")
		bitrate := sf.String("bitrate", "", "video bitrate")
		limit := sf.Int("duration-limit", 0, "stop after this many seconds")
		noSound := sf.Bool("no-sound", false, "no start/stop cues")
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprint(stderr, ctlUsage)
			return errUsage
		}
		url := rest[0]
		if err := sf.Parse(rest[1:]); err != nil || sf.NArg() > 0 {
			return errUsage
		}
		req := control.StartRequest{Kind: control.Unmanaged, URL: url, Holder: *holder, Stream: control.StreamConfig{DurationLimit: *limit}}
		if *managed {
			req.Kind = control.Managed
		}
		if *size != "" {
			w, h, err := parseSize(*size)
			if err != nil {
				return err
			}
			req.Video.Width, req.Video.Height = w, h
		}
		req.Video.FrameRate = *fps
		if *bitrate != "" {
			b, err := parseBitrate(*bitrate)
			if err != nil {
				return err
			}
			req.Video.Bitrate = b
		}
		if *noSound {
			off := false
			req.Sound = &off
		}
		var info control.Info
		if err := c.Do(ctx, http.MethodPost, "/v1/streams", req, &info); err != nil {
			return err
		}
		print(info)
	case "stop":
		sf := flag.NewFlagSet("ctl stop", flag.ContinueOnError)
		sf.SetOutput(stderr)
		holder := sf.String("holder", "", "remove only this holder (managed streams)")
		if len(rest) == 0 {
			return errUsage
		}
		if err := sf.Parse(rest[1:]); err != nil {
			return errUsage
		}
		path := "/v1/streams/" + rest[0]
		if *holder != "" {
			path += "?holder=" + *holder
		}
		var info control.Info
		if err := c.Do(ctx, http.MethodDelete, path, nil, &info); err != nil {
			return err
		}
		print(info)
	case "status":
		var out struct {
			Streams []control.Info `json:"streams"`
		}
		if err := c.Do(ctx, http.MethodGet, "/v1/streams", nil, &out); err != nil {
			return err
		}
		print(out)
	case "keepalive":
		if len(rest) != 1 {
			return errUsage
		}
		var out map[string]any
		if err := c.Do(ctx, http.MethodPost, "/v1/streams/"+rest[0]+"/keepalive", map[string]any{}, &out); err != nil {
			return err
		}
		print(out)
	case "bitrate":
		if len(rest) != 2 {
			return errUsage
		}
		b, err := parseBitrate(rest[1])
		if err != nil {
			return err
		}
		var out map[string]any
		if err := c.Do(ctx, http.MethodPost, "/v1/streams/"+rest[0]+"/bitrate", map[string]int{"bitrate": b}, &out); err != nil {
			return err
		}
		print(out)
	case "watch":
		return watch(ctx, c, stdout)
	case "json":
		sf := flag.NewFlagSet("ctl json", flag.ContinueOnError)
		sf.SetOutput(stderr)
		dialect := sf.String("dialect", "", "what to speak before stdin says: glassagent or mentraos")
		if err := sf.Parse(rest); err != nil || sf.NArg() > 0 {
			return errUsage
		}
		return jsonPipe(ctx, c, *dialect, stdin, stdout)
	default:
		fmt.Fprintf(stderr, "glassagent ctl: unknown command %q\n%s", cmd, ctlUsage)
		return errUsage
	}
	return nil
}

// watch prints the daemon's events, one JSON object a line, until ctx ends.
func watch(ctx context.Context, c *api.Client, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://glassagent/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("glassagent daemon: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			fmt.Fprintln(stdout, data)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// jsonPipe is `ctl json`: stdin lines to the daemon's WebSocket, everything
// it says to stdout, one JSON object a line.
func jsonPipe(ctx context.Context, c *api.Client, dialect string, stdin io.Reader, stdout io.Writer) error {
	before, err := streamIDs(ctx, c)
	if err != nil {
		return err
	}
	conn, _, err := websocket.Dial(ctx, "ws://glassagent/v1/ws?dialect="+dialect, &websocket.DialOptions{HTTPClient: c.HTTP})
	if err != nil {
		return fmt.Errorf("glassagent daemon: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(8 << 20)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	read := make(chan error, 1)
	go func() {
		for {
			_, b, err := conn.Read(rctx)
			if err != nil {
				read <- err
				return
			}
			stdout.Write(append(b, '\n'))
		}
	}()
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(line)); err != nil {
			return fmt.Errorf("glassagent daemon: %w", err)
		}
	}
	// stdin closed: wait for the streams this session started to stop
	// (their last events are printed as they come).
	for {
		now, err := streamIDs(ctx, c)
		if err != nil {
			return err
		}
		mine := false
		for id := range now {
			mine = mine || !before[id]
		}
		if !mine {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-read:
			return fmt.Errorf("glassagent daemon: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	time.Sleep(200 * time.Millisecond) // the last events are in flight
	conn.Close(websocket.StatusNormalClosure, "")
	stop()
	<-read
	return nil
}

func streamIDs(ctx context.Context, c *api.Client) (map[string]bool, error) {
	var out struct {
		Streams []control.Info `json:"streams"`
	}
	if err := c.Do(ctx, http.MethodGet, "/v1/streams", nil, &out); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, s := range out.Streams {
		ids[s.StreamID] = true
	}
	return ids, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/api"
	"github.com/glassagent/glassagent/control/cloud"
	"github.com/glassagent/glassagent/control/service"
	"github.com/glassagent/glassagent/publish"
)

const defaultSocket = "/run/glassagent/api.sock"

// runDaemon is `glassagent run`: the stream manager behind the local API,
// until SIGINT/SIGTERM, which stops every stream cleanly.
func runDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := control.Defaults()
	socket := fs.String("socket", defaultSocket, "local API Unix socket")
	mode := fs.String("socket-mode", "0660", "permissions of the API socket")
	fs.StringVar(&cfg.Camera, "camera", cfg.Camera, `camera: "test" or a V4L2 device`)
	fs.StringVar(&cfg.Mic, "mic", cfg.Mic, `microphone: "test", "none" or an ALSA device`)
	fs.StringVar(&cfg.Encoder, "encoder", cfg.Encoder, "H.264 encoder: auto, hw or sw")
	fs.DurationVar(&cfg.KeepAliveTimeout, "keepalive-timeout", cfg.KeepAliveTimeout, "stop cloud streams after this long without a keep-alive")
	caFile := fs.String("ca-file", "", "extra PEM CA bundle for rtmps:// and https:// servers")
	cloudURL := fs.String("cloud-url", "", "the cloud's WebSocket (wss://...); none: local API only")
	tokenFile := fs.String("cloud-token-file", "", "file holding the cloud's bearer token")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	perm, err := strconv.ParseUint(*mode, 8, 32)
	if err != nil || perm > 0o777 {
		return fmt.Errorf("--socket-mode %q: want an octal mode such as 0660", *mode)
	}
	if cfg.KeepAliveTimeout <= 0 {
		return fmt.Errorf("--keepalive-timeout %v: must be positive", cfg.KeepAliveTimeout)
	}
	cfg.Publish.CAFile = *caFile
	var token string
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("--cloud-token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if *cloudURL != "" && !strings.HasPrefix(*cloudURL, "wss://") && !strings.HasPrefix(*cloudURL, "ws://") {
		return fmt.Errorf("--cloud-url %s: want a ws:// or wss:// URL", publish.RedactURL(*cloudURL))
	}
	log := newLogger(stderr)
	defer log.Sync()

	m := control.NewManager(cfg, control.Publishers())
	defer m.Close()
	ln, err := api.Listen(*socket, os.FileMode(perm))
	if err != nil {
		return err
	}
	events, unsub := m.Subscribe()
	defer unsub()
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		logEvents(log, events)
	}()

	notify := service.NewNotifier()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- api.Serve(ctx, ln, m) }()
	watchdog := make(chan error, 1)
	go func() {
		watchdog <- notify.RunWatchdog(ctx, func() error {
			// The manager answers: its lock is not held by a stuck call.
			done := make(chan struct{})
			go func() { m.List(); close(done) }()
			select {
			case <-done:
				return nil
			case <-time.After(5 * time.Second):
				return errors.New("stream manager stuck")
			}
		})
	}()
	cloudDone := make(chan struct{})
	if *cloudURL != "" {
		cl := cloud.New(cloud.Config{URL: *cloudURL, Token: token, OnState: func(state string, err error) {
			log.Info("cloud "+state, zap.String("url", publish.RedactURL(*cloudURL)), zap.Error(err))
		}}, m)
		go func() {
			defer close(cloudDone)
			cl.Run(ctx)
		}()
	} else {
		close(cloudDone)
	}
	notify.Ready("listening on " + *socket)
	log.Info("glassagent running", zap.String("socket", *socket), zap.String("camera", cfg.Camera), zap.String("mic", cfg.Mic))
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	notify.Stopping()
	log.Info("stopping")
	cancel()
	<-cloudDone
	m.Close() // stops the streams, then ends the event feed
	<-logged
	if serveErr == nil {
		serveErr = <-served
	}
	<-watchdog
	os.Remove(*socket)
	return serveErr
}

func logEvents(log *zap.Logger, events <-chan control.Event) {
	for e := range events {
		if e.Stats != nil && e.Message == "" {
			log.Debug("stats", zap.String("stream", e.StreamID), zap.Int("bitrate", e.Stats.Bitrate), zap.Float64("fps", e.Stats.FPS))
			continue
		}
		log.Info("stream "+string(e.Status), zap.String("stream", e.StreamID), zap.String("kind", string(e.Kind)),
			zap.String("message", e.Message), zap.String("code", string(e.ErrorDetails)), zap.Strings("holders", e.Holders))
	}
}

// newLogger logs JSON to the journal under systemd and human lines
// otherwise, to w. Every URL in a message was redacted before it got here.
func newLogger(w io.Writer) *zap.Logger {
	var enc zapcore.Encoder
	if os.Getenv("JOURNAL_STREAM") != "" || os.Getenv("INVOCATION_ID") != "" {
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	} else {
		ec := zap.NewDevelopmentEncoderConfig()
		enc = zapcore.NewConsoleEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zapcore.InfoLevel))
}

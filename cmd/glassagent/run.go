package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/api"
	"github.com/glassagent/glassagent/control/cloud"
	"github.com/glassagent/glassagent/control/config"
	"github.com/glassagent/glassagent/control/service"
	"github.com/glassagent/glassagent/encode"
	"github.com/glassagent/glassagent/publish"
	"github.com/glassagent/glassagent/sounds"
)

const defaultSocket = "/run/glassagent/api.sock"

// runDaemon is `glassagent run`: the stream manager behind the local API,
// until SIGINT/SIGTERM, which stops every stream cleanly.
func runDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration (configs/glassagent.yaml shows every key); flags given override it")
	socket := fs.String("socket", defaultSocket, "local API Unix socket")
	mode := fs.String("socket-mode", "0660", "permissions of the API socket")
	camera := fs.String("camera", "test", `camera: "test", "test:noise" or a V4L2 device`)
	mic := fs.String("mic", "test", `microphone: "test", "none" or an ALSA device`)
	encoder := fs.String("encoder", "auto", "H.264 encoder: auto, hw or sw")
	keepalive := fs.String("keepalive-timeout", "60s", "stop cloud streams after this long without a keep-alive")
	caFile := fs.String("ca-file", "", "extra PEM CA bundle for rtmps:// and https:// servers")
	cloudURL := fs.String("cloud-url", "", "the cloud's WebSocket (wss://...); none: local API only")
	tokenFile := fs.String("cloud-token-file", "", "file holding the cloud's bearer token")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	file := config.Defaults()
	if *configPath != "" {
		var err error
		if file, err = config.Load(*configPath, os.Getenv); err != nil {
			return err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "socket":
			file.API.Socket = *socket
		case "socket-mode":
			file.API.Mode = *mode
		case "camera":
			file.Devices.Camera = *camera
		case "mic":
			file.Devices.Mic = *mic
		case "encoder":
			file.Devices.Encoder = *encoder
		case "keepalive-timeout":
			file.KeepAlive.Timeout = config.Duration(*keepalive)
		case "ca-file":
			file.TLS.CAFile = *caFile
		case "cloud-url":
			file.Cloud.URL = *cloudURL
		case "cloud-token-file":
			file.Cloud.TokenFile = *tokenFile
		}
	})
	// Flags go through the same checks as the file.
	file, err := config.Reparse(file)
	if err != nil {
		return err
	}
	cfg, err := file.Manager()
	if err != nil {
		return err
	}
	perm, _ := strconv.ParseUint(file.API.Mode, 8, 32)
	token, err := config.Secret(file.Cloud.TokenFile)
	if err != nil {
		return err
	}
	*socket, *cloudURL = file.API.Socket, file.Cloud.URL
	log := newLogger(stderr, file.Log.Level)
	defer log.Sync()

	cues, err := sounds.NewPlayer(file.Devices.Speaker)
	if err != nil {
		return fmt.Errorf("devices.speaker: %w", err)
	}
	if cues != nil {
		cues.OnError = func(err error) { log.Warn("cue not played", zap.Error(err)) }
		cfg.Cues = cues
		defer cues.Wait() // the stop cue finishes before we exit
	}
	m := control.NewManager(cfg, control.Publishers())
	defer m.Close()
	if cues != nil {
		// What the speaker plays is the echo canceller's reference.
		cues.OnPlay = m.FeedEcho
	}
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
			// The manager answers (its lock is not held by a stuck call)
			// and an active stream's encoder makes progress.
			res := make(chan error, 1)
			go func() { res <- m.Healthy(10 * time.Second) }()
			select {
			case err := <-res:
				if err != nil {
					log.Error("unhealthy: no watchdog ping", zap.Error(err))
				}
				return err
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
	// Probe the devices before saying READY, so `systemctl status` and the
	// journal show what this device has from the start.
	cams, _ := capture.Cameras()
	encs, _ := encode.ProbeM2MEncoders()
	sound := capture.SoundDevices()
	log.Info("devices probed", zap.Int("cameras", len(cams)), zap.Int("soundDevices", len(sound)),
		zap.Int("hardwareEncoders", len(encs)), zap.Bool("softwareEncoder", encode.SoftwareH264Available))
	notify.Ready(fmt.Sprintf("listening on %s; %d cameras, %d sound devices, %d hardware encoders", *socket, len(cams), len(sound), len(encs)))
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
func newLogger(w io.Writer, level string) *zap.Logger {
	var enc zapcore.Encoder
	if os.Getenv("JOURNAL_STREAM") != "" || os.Getenv("INVOCATION_ID") != "" {
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	} else {
		ec := zap.NewDevelopmentEncoderConfig()
		enc = zapcore.NewConsoleEncoder(ec)
	}
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		lvl = zapcore.InfoLevel // the config loader already refused bad levels
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl))
}

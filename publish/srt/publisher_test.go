package srt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/mediatest"
	"github.com/glassagent/glassagent/publish"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, mediatest.KnownLeaks()...) }

func newPublisher(t *testing.T, raw string) *Publisher {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(u, publish.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Publisher)
}

// publishFixture plays the fixture into a queue and runs the publisher until
// the fixture ends (plus a little), returning Run's error.
func publishFixture(t *testing.T, p *Publisher, f *mediatest.Fixture) error {
	t.Helper()
	q := media.NewQueue(media.QueueConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	connected := make(chan struct{})
	go func() {
		errc <- p.Run(ctx, publish.Input{Video: f.Video, Audio: f.Audio, Queue: q, OnConnected: func() { close(connected) }})
	}()
	select {
	case <-connected:
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("not connected after 10 s")
	}
	playErr := make(chan error, 1)
	go func() { playErr <- f.Play(ctx, q) }()
	select {
	case err := <-errc:
		cancel()
		<-playErr
		return err
	case <-playErr:
	}
	time.Sleep(300 * time.Millisecond) // let the last messages go out
	cancel()
	return <-errc
}

// ffmpegListener records what an ffmpeg SRT listener receives.
func ffmpegListener(t *testing.T, port int, query string) (string, *mediatest.Process) {
	out := filepath.Join(t.TempDir(), "rx.ts")
	p := mediatest.Start(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "mpegts",
		"-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener%s", port, query), "-c", "copy", "-f", "mpegts", out)
	mediatest.WaitUDPBound(t, port, 20*time.Second)
	return out, p
}

func checkRecording(t *testing.T, path string, f *mediatest.Fixture, secs float64) {
	t.Helper()
	s := mediatest.Probe(t, path)
	v, a := s["video"], s["audio"]
	if v.CodecName != "h264" || v.Width != f.Video.Width || v.Height != f.Video.Height || v.RFrameRate != fmt.Sprintf("%d/1", f.Video.FPS) {
		t.Errorf("video %+v, want h264 %dx%d @%d", v, f.Video.Width, f.Video.Height, f.Video.FPS)
	}
	if a.CodecName != "aac" || a.SampleRate != "48000" {
		t.Errorf("audio %+v, want aac 48000", a)
	}
	want := secs * float64(f.Video.FPS)
	if n := float64(v.Frames()); math.Abs(n-want) > want*0.05 {
		t.Errorf("%v video frames, want %v ±5%%", n, want)
	}
	if d := v.Start() - a.Start(); math.Abs(d) > 0.1 {
		t.Errorf("A/V start %.3f s apart", d)
	}
	if !mediatest.FirstVideoFrameIsKey(t, path) {
		t.Error("the recording does not start on a keyframe")
	}
}

func TestPublishToFFmpeg(t *testing.T) {
	f := mediatest.Generate(t, mediatest.Options{Width: 320, Height: 240, FPS: 25, Duration: 3 * time.Second})
	for _, c := range []struct{ name, query, rx string }{
		{"plain", "", ""},
		{"passphrase", "&passphrase=glasses-secret-1&pbkeylen=24", "&passphrase=glasses-secret-1&pbkeylen=24"},
		{"streamid", "&streamid=publish:live/glasses", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			port := mediatest.FreeUDPPort(t)
			out, rx := ffmpegListener(t, port, c.rx)
			p := newPublisher(t, fmt.Sprintf("srt://127.0.0.1:%d?latency=120%s", port, c.query))
			if err := publishFixture(t, p, f); err != nil {
				t.Fatal(err)
			}
			st := p.Stats()
			if st.BytesSent == 0 || st.VideoFrames != uint64(len(f.VideoUnits)) {
				t.Errorf("stats %+v, want %d video frames", st, len(f.VideoUnits))
			}
			if st.BytesSent%188 != 0 {
				t.Errorf("%d bytes sent: not whole TS packets", st.BytesSent)
			}
			rx.Wait(10 * time.Second)
			checkRecording(t, out, f, 3)
		})
	}
}

func TestPublishToSRTLiveTransmit(t *testing.T) {
	f := mediatest.Generate(t, mediatest.Options{Width: 320, Height: 240, FPS: 25, Duration: 3 * time.Second})
	port := mediatest.FreeUDPPort(t)
	out := filepath.Join(t.TempDir(), "rx.ts")
	rx := mediatest.StartTo(t, out, "srt-live-transmit", "-q", fmt.Sprintf("srt://:%d?mode=listener", port), "file://con")
	mediatest.WaitUDPBound(t, port, 20*time.Second)
	p := newPublisher(t, fmt.Sprintf("srt://127.0.0.1:%d?streamid=publish:cam", port))
	if err := publishFixture(t, p, f); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	rx.Kill()
	checkRecording(t, out, f, 3)
}

func TestConnectFailures(t *testing.T) {
	// Nobody listens: connect_failed after the connect timeout.
	p := newPublisher(t, fmt.Sprintf("srt://127.0.0.1:%d?connect_timeout=500", mediatest.FreeUDPPort(t)))
	q := media.NewQueue(media.QueueConfig{})
	err := p.Run(context.Background(), publish.Input{Video: media.VideoParams{Codec: media.CodecH264}, Audio: media.AudioParams{Codec: media.CodecAAC}, Queue: q})
	if !errors.Is(err, media.ErrCode(media.CodeConnectFailed)) {
		t.Errorf("no listener: %v, want connect_failed", err)
	}
	// Wrong passphrase: the listener refuses, auth_failed.
	port := mediatest.FreeUDPPort(t)
	ffmpegListener(t, port, "&passphrase=the-right-secret")
	p = newPublisher(t, fmt.Sprintf("srt://127.0.0.1:%d?passphrase=the-wrong-secret", port))
	err = p.Run(context.Background(), publish.Input{Video: media.VideoParams{Codec: media.CodecH264}, Audio: media.AudioParams{Codec: media.CodecAAC}, Queue: q})
	if !errors.Is(err, media.ErrCode(media.CodeAuthFailed)) && !errors.Is(err, media.ErrCode(media.CodeConnectFailed)) {
		t.Errorf("wrong passphrase: %v", err)
	}
	t.Logf("wrong passphrase: %v", err)
}

func TestReceiverKilled(t *testing.T) {
	f := mediatest.Generate(t, mediatest.Options{Width: 320, Height: 240, FPS: 25, Duration: 20 * time.Second})
	port := mediatest.FreeUDPPort(t)
	_, rx := ffmpegListener(t, port, "")
	p := newPublisher(t, fmt.Sprintf("srt://127.0.0.1:%d", port))
	go func() {
		time.Sleep(2 * time.Second)
		rx.Kill()
	}()
	start := time.Now()
	err := publishFixture(t, p, f)
	if !errors.Is(err, media.ErrCode(media.CodeConnectionLost)) {
		t.Fatalf("after the receiver died: %v, want connection_lost", err)
	}
	t.Logf("noticed %v after the kill", time.Since(start)-2*time.Second)
	if time.Since(start) > 15*time.Second {
		t.Errorf("took %v to notice", time.Since(start))
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/control/api"
	"github.com/glassagent/glassagent/publish"
)

// TestSecretsNeverShown sends every URL form that carries a secret through
// the daemon (to servers that refuse or do not exist, so each stream ends in
// an error with a message) and checks that the secret appears in no log
// line, API reply or status event.
func TestSecretsNeverShown(t *testing.T) {
	const secret = "Sup3rS3cr3tV4lue"
	urls := []string{
		"srt://127.0.0.1:9?passphrase=" + secret + "&connect_timeout=300",
		"srt://127.0.0.1:9?streamid=publish:cam&passphrase=" + secret + "&connect_timeout=300",
		"rtmp://127.0.0.1:9/live/" + secret,
		"rtmps://127.0.0.1:9/live/" + secret + "?token=" + secret,
		"rtmp://127.0.0.1:9/live/key?token=" + secret,
		"http://127.0.0.1:9/whip?token=" + secret,
		"https://user:" + secret + "@127.0.0.1:9/whip",
		"https://127.0.0.1:9/whip/" + "endpoint?access_token=" + secret,
	}
	sock := filepath.Join(t.TempDir(), "api.sock")
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, []string{"--socket", sock}, logs, logs) }()
	waitDaemon(t, sock)
	c := api.NewClient(sock)
	var seen strings.Builder
	for _, u := range urls {
		var info control.Info
		err := c.Do(context.Background(), "POST", "/v1/streams", control.StartRequest{URL: u, Video: control.VideoConfig{Width: 320, Height: 240, FrameRate: 10, Bitrate: 200_000}}, &info)
		if err != nil {
			fmt.Fprintln(&seen, err)
			continue
		}
		b, _ := json.Marshal(info)
		seen.Write(b)
		// Wait for the stream to fail and free the camera.
		for i := 0; i < 200; i++ {
			var list struct{ Streams []control.Info }
			c.Do(context.Background(), "GET", "/v1/streams", nil, &list)
			if len(list.Streams) == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all := logs.String() + seen.String()
	if strings.Contains(all, secret) {
		t.Errorf("the secret leaked:\n%s", all)
	}
	if n := strings.Count(all, publish.Redacted); n < len(urls) {
		t.Errorf("only %d redaction markers for %d URLs:\n%s", n, len(urls), all)
	}
}

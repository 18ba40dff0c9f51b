package cloud

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassagent/glassagent/control"
	"github.com/glassagent/glassagent/media/mediatest"
)

// ffmpegRTMP is an RTMP receiver (ffmpeg -listen) recording to a file.
func ffmpegRTMP(t *testing.T) (string, *mediatest.Process) {
	port := mediatest.FreeTCPPort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/mentra-key-123", port)
	p := mediatest.Start(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", url,
		"-c", "copy", filepath.Join(t.TempDir(), "rx.flv"))
	mediatest.WaitTCPListen(t, port, 20*time.Second)
	return url, p
}

// TestMentraDialect drives the daemon's cloud link with the platform's
// messages, written field by field from its SDK types (StartRtmpStream,
// KeepRtmpStreamAlive, StopRtmpStream; replies RtmpStreamStatus and
// KeepAliveAck), against a real RTMP receiver.
func TestMentraDialect(t *testing.T) {
	cloud := newCloud(t, "tok")
	m := testManager(t, 2*time.Second)
	runClient(t, cloud, m)
	ws := <-cloud.conn
	url, rx := ffmpegRTMP(t)

	cloud.send(ws, `{"type":"start_rtmp_stream","rtmpUrl":"`+url+`","appId":"com.example.live","streamId":"str-1",`+
		`"video":{"width":320,"height":240,"fps":15,"bitrate":400},"audio":{"sample_rate":48000,"bitrate":64},"stream":{"durationLimit":120},`+
		`"timestamp":"2026-11-24T16:00:00.000Z"}`)
	var seen []string
	cloud.expect(15*time.Second, func(m map[string]any) bool {
		if m["type"] == "stream_status" {
			t.Errorf("got our dialect's stream_status on a MentraOS connection: %v", m)
		}
		if m["type"] == "rtmp_stream_status" {
			if m["streamId"] != "str-1" || m["appId"] != "com.example.live" {
				t.Errorf("status for %v/%v, want str-1/com.example.live", m["streamId"], m["appId"])
			}
			seen = append(seen, m["status"].(string))
		}
		return m["status"] == "streaming"
	})
	if got := strings.Join(seen, ","); got != "initializing,connecting,streaming" {
		t.Errorf("statuses %s", got)
	}
	for i := 0; i < 3; i++ {
		ack := fmt.Sprintf("ack-%d", i)
		cloud.send(ws, map[string]any{"type": "keep_rtmp_stream_alive", "streamId": "str-1", "ackId": ack})
		cloud.expect(5*time.Second, func(m map[string]any) bool {
			return m["type"] == "keep_alive_ack" && m["ackId"] == ack && m["streamId"] == "str-1"
		})
		time.Sleep(500 * time.Millisecond)
	}
	cloud.send(ws, `{"type":"get_rtmp_status"}`)
	st := cloud.expect(5*time.Second, func(m map[string]any) bool { return m["type"] == "rtmp_status_response" })
	if st["streaming"] != true || st["reconnecting"] != false {
		t.Errorf("get_rtmp_status: %v", st)
	}
	// A second start while streaming: refused, naming the holder.
	cloud.send(ws, `{"type":"start_rtmp_stream","rtmpUrl":"rtmp://127.0.0.1:1/live/x","appId":"other.app"}`)
	busy := cloud.expect(5*time.Second, func(m map[string]any) bool { return m["status"] == "error" })
	if busy["errorDetails"] != "camera_busy" || !strings.Contains(busy["message"].(string), "com.example.live") {
		t.Errorf("second start: %v", busy)
	}
	// Bad input in the dialect: error statuses; the stream is unharmed.
	for _, bad := range []string{
		`{"type":"start_rtmp_stream","appId":"a"}`,
		`{"type":"start_rtmp_stream","rtmpUrl":42}`,
		`{"type":"start_rtmp_stream","rtmpUrl":"rtmp://h/a/k","video":{"width":"wide"}}`,
		`{"type":"warp_drive"}`,
		`{not json`,
		`{"type":"start_rtmp_stream","rtmpUrl":"` + strings.Repeat("r", 1<<20) + `"}`,
	} {
		cloud.send(ws, bad)
		e := cloud.expect(5*time.Second, func(m map[string]any) bool { return m["type"] == "rtmp_stream_status" && m["status"] == "error" })
		if e["errorDetails"] == "" {
			t.Errorf("%.50s: %v", bad, e)
		}
	}
	if l := m.List(); len(l) != 1 || l[0].Status != "active" {
		t.Fatalf("stream harmed by bad input: %+v", l)
	}
	// No more keep-alives: timeout, and the stream stops.
	to := cloud.expect(10*time.Second, func(m map[string]any) bool {
		return m["type"] == "rtmp_stream_status" && m["status"] == "timeout" && m["errorDetails"] == "keepalive_timeout"
	})
	_ = to
	rx.Wait(5 * time.Second)
}

func TestMentraStopAndLeniency(t *testing.T) {
	if got := bitrate(2500); got != 2_500_000 {
		t.Errorf("2500 (kbit/s) read as %d", got)
	}
	if got := bitrate(2_500_000); got != 2_500_000 {
		t.Errorf("2500000 (bit/s) read as %d", got)
	}
	cloud := newCloud(t, "tok")
	m := testManager(t, time.Minute)
	runClient(t, cloud, m)
	ws := <-cloud.conn
	url, _ := ffmpegRTMP(t)
	cloud.send(ws, map[string]any{"type": "start_rtmp_stream", "rtmpUrl": url, "appId": "app",
		"video": map[string]any{"width": 320, "height": 240, "frameRate": 15, "bitrate": 300000}})
	cloud.expect(15*time.Second, func(m map[string]any) bool { return m["status"] == "streaming" })
	cloud.send(ws, map[string]any{"type": "stop_rtmp_stream", "appId": "app"})
	cloud.expect(15*time.Second, func(m map[string]any) bool { return m["status"] == "stopped" })
}

func TestMentraReconnected(t *testing.T) {
	cloud := newCloud(t, "tok")
	m := testManager(t, time.Minute)
	runClient(t, cloud, m)
	ws := <-cloud.conn
	port := mediatest.FreeTCPPort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/k-restart", port)
	listen := func() *mediatest.Process {
		p := mediatest.Start(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", url, "-f", "null", "-")
		mediatest.WaitTCPListen(t, port, 20*time.Second)
		return p
	}
	rx := listen()
	cloud.send(ws, map[string]any{"type": "start_rtmp_stream", "rtmpUrl": url, "appId": "app", "streamId": "r1",
		"video": map[string]any{"width": 320, "height": 240, "fps": 15}})
	cloud.expect(15*time.Second, func(m map[string]any) bool { return m["status"] == "streaming" })
	rx.Kill()
	cloud.expect(15*time.Second, func(m map[string]any) bool { return m["status"] == "reconnecting" })
	listen()
	cloud.expect(30*time.Second, func(m map[string]any) bool { return m["status"] == "reconnected" && m["streamId"] == "r1" })
}

func FuzzMentra(f *testing.F) {
	f.Add(`{"type":"stop_rtmp_stream","appId":"a","streamId":"s"}`)
	f.Add(`{"type":"keep_rtmp_stream_alive","streamId":"s","ackId":"k"}`)
	f.Add(`{"type":"get_rtmp_status"}`)
	f.Add(`{"type":"start_rtmp_stream","rtmpUrl":"rtmp://h/a/k?x","video":{"fps":"30"}}`)
	f.Add(`{"type":"start_rtmp_stream","appId":"a","video":{"width":-1,"bitrate":1e99}}`)
	m := control.NewManager(control.Defaults(), control.Publishers())
	defer m.Close()
	d := newMentra()
	f.Fuzz(func(t *testing.T, msg string) {
		var env Message
		if json.Unmarshal([]byte(msg), &env) != nil || !isMentra(env.Type) {
			return
		}
		reply := d.handle(&refusing{m}, env.Type, []byte(msg))
		if reply == nil && env.Type != "stop_rtmp_stream" {
			t.Fatalf("%q: no reply", msg)
		}
		if b, err := json.Marshal(reply); err != nil || (reply != nil && !strings.Contains(string(b), `"type":`)) {
			t.Fatalf("%q: reply %s %v", msg, b, err)
		}
		if len(m.List()) != 0 {
			t.Fatalf("%q started a stream", msg)
		}
	})
}

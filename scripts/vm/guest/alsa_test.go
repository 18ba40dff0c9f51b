package guest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/media"
)

// TestALSALoopback: a 1234 Hz tone written to the loopback card's playback
// side (opened by card id) is captured on its capture side by our pure-Go
// ALSA code with the frequency intact; PTS follow the sample count.
func TestALSALoopback(t *testing.T) {
	needGuest(t)
	const rate, hz = 48000, 1234.0
	f := media.AudioFormat{SampleRate: rate, Channels: 2}
	out, err := capture.OpenPlayback("hw:Loopback,0", f)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	mic, err := capture.OpenMic("hw:Loopback,1", f, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	tone := make([]int16, rate*2*2)
	for i := 0; i < len(tone)/2; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/rate))
		tone[2*i], tone[2*i+1] = v, -v
	}
	played := make(chan error, 1)
	go func() {
		err := out.Write(tone)
		if err == nil {
			err = out.Drain()
		}
		played <- err
	}()
	var left []int16
	var last time.Duration = -1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(left) < rate {
		b, err := mic.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.Frames() != rate/100 || b.Format != f {
			t.Fatalf("block of %d frames %+v", b.Frames(), b.Format)
		}
		if last >= 0 && mic.Overruns() == 0 && b.PTS != last+10*time.Millisecond {
			t.Fatalf("PTS %v after %v: not from the sample count", b.PTS, last)
		}
		last = b.PTS
		for i := 0; i < len(b.Samples); i += 2 {
			if i == 0 && len(left) > rate/2 && b.Samples[i] != -b.Samples[i+1] && b.Samples[i] != 0 {
				t.Fatalf("channels not interleaved as written: %d %d", b.Samples[i], b.Samples[i+1])
			}
			left = append(left, b.Samples[i])
		}
	}
	if err := <-played; err != nil {
		t.Fatal(err)
	}
	// The last half second: the tone has arrived by then.
	tail := left[len(left)/2:]
	crossings, energy := 0, 0.0
	for i := 1; i < len(tail); i++ {
		if (tail[i-1] < 0) != (tail[i] < 0) {
			crossings++
		}
		energy += float64(tail[i]) * float64(tail[i])
	}
	got := float64(crossings) / 2 / (float64(len(tail)) / rate)
	rms := math.Sqrt(energy / float64(len(tail)))
	t.Logf("captured %.1f Hz at rms %.0f; overruns %d, underruns %d", got, rms, mic.Overruns(), out.Underruns())
	if math.Abs(got-hz) > 15 || rms < 3000 {
		t.Errorf("captured %.1f Hz at rms %.0f, want the %.0f Hz tone (rms ~5657)", got, rms, hz)
	}
}

// TestALSAOverrun: a reader that stalls past the ring buffer (160 ms) gets
// an overrun; Read recovers, counts it, and the PTS jump over the lost time
// instead of pretending no samples were lost.
func TestALSAOverrun(t *testing.T) {
	needGuest(t)
	f := media.AudioFormat{SampleRate: 48000, Channels: 1}
	mic, err := capture.OpenMic("hw:Loopback,1", f, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var before time.Duration
	for i := 0; i < 5; i++ {
		b, err := mic.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before = b.PTS
	}
	stalled := before
	time.Sleep(500 * time.Millisecond)
	var after time.Duration
	for i := 0; i < 10; i++ {
		b, err := mic.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.PTS <= before {
			t.Fatalf("PTS %v after %v", b.PTS, before)
		}
		if i == 0 {
			after = b.PTS
		}
		before = b.PTS
	}
	gap := after - stalled
	t.Logf("overruns %d; PTS moved %v over the 500 ms stall", mic.Overruns(), gap)
	if mic.Overruns() == 0 {
		t.Error("no overrun counted after a 500 ms stall")
	}
	if gap < 400*time.Millisecond {
		t.Errorf("PTS moved only %v over a 500 ms stall: lost samples hidden", gap)
	}
}

// TestMicClose: Close from another goroutine ends a Read that waits for
// samples that never come (nothing is captured until it is read, so a
// paused capture would block without the poll loop).
func TestMicClose(t *testing.T) {
	needGuest(t)
	mic, err := capture.OpenMic("hw:Loopback,1", media.AudioFormat{SampleRate: 48000, Channels: 1}, media.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mic.Read(ctx); err == nil {
		t.Error("Read with a cancelled context succeeded")
	}
	if err := mic.Close(); err != nil {
		t.Error(err)
	}
	if err := mic.Close(); err != nil {
		t.Error("second close:", err)
	}
	if _, err := mic.Read(context.Background()); err == nil {
		t.Error("Read after Close succeeded")
	}
}

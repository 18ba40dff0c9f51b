package sounds

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/glassagent/glassagent/capture"
	"github.com/glassagent/glassagent/media"
)

func crossingsHz(s []int16) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / float64(Format.SampleRate))
}

func TestCues(t *testing.T) {
	for _, c := range []struct {
		start      bool
		first, sec float64
	}{{true, 660, 880}, {false, 880, 660}} {
		s := Cue(c.start)
		if d := time.Duration(len(s)) * time.Second / time.Duration(Format.SampleRate); d != 240*time.Millisecond {
			t.Errorf("cue lasts %v", d)
		}
		half := len(s) / 2
		if hz := crossingsHz(s[:half]); math.Abs(hz-c.first) > 15 {
			t.Errorf("start=%v first note %.0f Hz, want %.0f", c.start, hz, c.first)
		}
		if hz := crossingsHz(s[half:]); math.Abs(hz-c.sec) > 15 {
			t.Errorf("start=%v second note %.0f Hz, want %.0f", c.start, hz, c.sec)
		}
		if s[0] != 0 || math.Abs(float64(s[len(s)-1])) > 500 {
			t.Errorf("cue edges not faded: %d ... %d", s[0], s[len(s)-1])
		}
	}
}

// recorder is an Output that keeps what was played.
type recorder struct {
	mu     sync.Mutex
	played [][]int16
	slow   time.Duration
}

func (r *recorder) Write(s []int16) error {
	time.Sleep(r.slow)
	r.mu.Lock()
	r.played = append(r.played, s)
	r.mu.Unlock()
	return nil
}
func (r *recorder) Drain() error { return nil }
func (r *recorder) Close() error { return nil }

func TestPlayerNeverBlocks(t *testing.T) {
	r := &recorder{slow: 300 * time.Millisecond}
	p := NewPlayerOn(func() (Output, error) { return r, nil })
	start := time.Now()
	p.PlayStart()
	p.PlayStop() // dropped: a cue is still playing
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("PlayStart blocked the caller")
	}
	p.Wait()
	if len(r.played) != 1 {
		t.Errorf("%d cues played, want 1 (no queueing behind a playing cue)", len(r.played))
	}
	var got error
	p = NewPlayerOn(func() (Output, error) { return nil, errors.New("no speaker") })
	p.OnError = func(err error) { got = err }
	p.PlayStop()
	p.Wait()
	if got == nil {
		t.Error("a failed cue was not reported")
	}
	if _, err := NewPlayer("hw:x"); err == nil {
		t.Error("bad speaker name accepted")
	}
	if p, err := NewPlayer("none"); p != nil || err != nil {
		t.Error("speaker none should give no player")
	}
}

// timedRecorder is a TimedOutput whose device says sample 0 is heard at
// heardAt, at the nominal rate.
type timedRecorder struct {
	recorder
	heardAt time.Time
	onPlays int // OnPlay calls seen when the write finished
	calls   *int
}

func (r *timedRecorder) WriteHeard(s []int16, mark int, heard func(time.Time)) error {
	heard(r.heardAt.Add(time.Duration(mark) * time.Second / time.Duration(Format.SampleRate)))
	r.onPlays = *r.calls
	return r.Write(s)
}

func TestPlayerReferenceTimes(t *testing.T) {
	var _ TimedOutput = (*capture.ALSAPlayback)(nil) // what NewPlayer opens is timed

	var calls int
	var gotAt time.Time
	var gotSamples []int16
	onPlay := func(s []int16, f media.AudioFormat, at time.Time) {
		calls++
		gotSamples, gotAt = s, at
		if f != Format {
			t.Errorf("format %+v", f)
		}
	}
	heard := time.Now().Add(7 * time.Millisecond)
	r := &timedRecorder{heardAt: heard, calls: &calls}
	p := NewPlayerOn(func() (Output, error) { return r, nil })
	p.OnPlay = onPlay
	p.PlayStart()
	p.Wait()
	cue := Cue(true)
	if calls != 1 || r.onPlays != 1 {
		t.Fatalf("OnPlay called %d times, %d of them before the write ended; want 1 and 1", calls, r.onPlays)
	}
	if !gotAt.Equal(heard.Add(LeadIn)) {
		t.Errorf("reference at %v after the device's instant, want the lead-in %v", gotAt.Sub(heard), LeadIn)
	}
	if len(gotSamples) != len(cue) || gotSamples[len(cue)/3] != cue[len(cue)/3] {
		t.Error("the reference is not the cue")
	}
	lead := int(LeadIn.Seconds() * float64(Format.SampleRate))
	played := r.played[0]
	if len(played) != lead+len(cue) {
		t.Fatalf("device got %d samples, want %d of lead-in and %d of cue", len(played), lead, len(cue))
	}
	for i, v := range played {
		if (i < lead && v != 0) || (i >= lead && v != cue[i-lead]) {
			t.Fatalf("device sample %d is %d: not silence then the cue", i, v)
		}
	}

	// An output that cannot say: the cue as it is, stamped when written.
	calls = 0
	plain := &recorder{}
	p = NewPlayerOn(func() (Output, error) { return plain, nil })
	p.OnPlay = onPlay
	before := time.Now()
	p.PlayStop()
	p.Wait()
	if calls != 1 || gotAt.Before(before) || gotAt.After(time.Now()) {
		t.Errorf("plain output: %d calls, at %v (want one, during the cue)", calls, gotAt.Sub(before))
	}
	if len(plain.played) != 1 || len(plain.played[0]) != len(cue) {
		t.Errorf("plain output got %d writes, want the cue alone", len(plain.played))
	}
}

package capture

import (
	"testing"
	"time"

	"github.com/glassagent/glassagent/media"
)

// TestMonoRef: a CLOCK_MONOTONIC reading mapped to time.Time is now, on
// Go's clock and on the pipeline clock, and the two mappings agree.
func TestMonoRef(t *testing.T) {
	clock := media.NewClock()
	time.Sleep(time.Millisecond)
	r := newMonoRef()
	ts := clockMonotonic()
	at := r.time(ts)
	if d := time.Since(at); d < 0 || d > 50*time.Millisecond {
		t.Errorf("mapped CLOCK_MONOTONIC is %v off Go's clock", d)
	}
	if d := clock.At(at) - (ts + r.offset(clock)); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("time and offset disagree by %v", d)
	}
	// Later stamps keep their distance: no re-sampling, no drift.
	if d := r.time(ts + 3*time.Second).Sub(at); d != 3*time.Second {
		t.Errorf("3 s of kernel time maps to %v", d)
	}
}

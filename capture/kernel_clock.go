package capture

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
)

// Kernel timestamps onto Go's clocks.
//
// V4L2 buffers and ALSA status reports are stamped on CLOCK_MONOTONIC (ALSA
// once sw_params asks for it). Go's monotonic time, which time.Time carries
// and media.Clock runs on, is read from the same CLOCK_MONOTONIC on Linux
// (the runtime's nanotime), so the two differ by a constant. One pair of
// readings taken back to back (best of a few tries, error well under 10 µs)
// maps every later kernel timestamp without re-sampling, and cannot drift.

// monoRef is a reading of Go's clock and of CLOCK_MONOTONIC at the same
// instant.
type monoRef struct {
	t    time.Time     // with its monotonic reading
	mono time.Duration // CLOCK_MONOTONIC
}

// newMonoRef takes the closest pair of a few. On the impossible failure of
// clock_gettime it pairs now with zero, which makes every mapped timestamp
// implausible, so the callers' fallbacks take over.
func newMonoRef() monoRef {
	best, ref := time.Duration(1<<62), monoRef{t: time.Now()}
	for i := 0; i < 5; i++ {
		var ts unix.Timespec
		a := time.Now()
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
			return monoRef{t: a}
		}
		b := time.Now()
		if d := b.Sub(a); d < best {
			best, ref = d, monoRef{t: a.Add(d / 2), mono: time.Duration(ts.Nano())}
		}
	}
	return ref
}

// time maps a CLOCK_MONOTONIC timestamp to a time.Time whose monotonic
// reading is that instant (so Sub and media.Clock.At use it exactly).
func (r monoRef) time(ts time.Duration) time.Time { return r.t.Add(ts - r.mono) }

// offset is pipeline time minus CLOCK_MONOTONIC.
func (r monoRef) offset(clock *media.Clock) time.Duration { return clock.At(r.t) - r.mono }

// monoOffset measures pipeline time minus CLOCK_MONOTONIC.
func monoOffset(clock *media.Clock) time.Duration { return newMonoRef().offset(clock) }

// clockMonotonic reads CLOCK_MONOTONIC.
func clockMonotonic() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

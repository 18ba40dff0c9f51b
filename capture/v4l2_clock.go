package capture

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/glassagent/glassagent/media"
	"github.com/glassagent/glassagent/media/v4l2"
)

// Kernel buffer timestamps onto the pipeline clock.
//
// V4L2 stamps a buffer (V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC) on
// CLOCK_MONOTONIC when the frame was captured, before any queueing on our
// side. media.Clock runs on Go's monotonic time, which on Linux is read from
// the same CLOCK_MONOTONIC (the runtime's nanotime), so the two differ by a
// constant: offset = clock.Now() - CLOCK_MONOTONIC, sampled once at open
// with the two reads taken back to back (best of a few tries, error well
// under 10 µs). PTS = kernel timestamp + offset then needs no re-sampling
// and cannot drift.

// monoOffset measures pipeline time minus CLOCK_MONOTONIC.
func monoOffset(clock *media.Clock) time.Duration {
	best, off := time.Duration(1<<62), time.Duration(0)
	for i := 0; i < 5; i++ {
		var ts unix.Timespec
		a := clock.Now()
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
			return 0
		}
		b := clock.Now()
		if b-a < best {
			best, off = b-a, a+(b-a)/2-time.Duration(ts.Nano())
		}
	}
	return off
}

// mapTimestamp turns a buffer's kernel timestamp into pipeline time. A
// driver that does not stamp on CLOCK_MONOTONIC (flags say COPY or
// UNKNOWN), or a stamp that is implausible (after now, or older than a
// second), gets the dequeue instant instead: later, but never wrong by
// more than the queueing delay.
func mapTimestamp(ts time.Duration, flags uint32, offset, now time.Duration) time.Duration {
	if flags&v4l2.BufFlagTimestampMask != v4l2.BufFlagTimestampMonotonic || ts == 0 {
		return now
	}
	pts := ts + offset
	if pts > now+time.Millisecond || pts < now-time.Second {
		return now
	}
	return pts
}

// clockMonotonic reads CLOCK_MONOTONIC (for tests).
func clockMonotonic() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

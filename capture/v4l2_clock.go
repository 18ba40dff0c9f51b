package capture

import (
	"time"

	"github.com/glassagent/glassagent/media/v4l2"
)

// V4L2 stamps a buffer (V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC) on
// CLOCK_MONOTONIC when the frame was captured, before any queueing on our
// side; the camera maps it with the offset kernel_clock.go measures at open:
// PTS = kernel timestamp + offset.

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

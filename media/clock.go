package media

import "time"

// Clock is the pipeline clock: a monotonic duration since the stream began,
// with the wall-clock instant it began for latency figures.
type Clock struct {
	start time.Time
}

// NewClock starts a clock now.
func NewClock() *Clock { return &Clock{start: time.Now()} }

// Now returns the time elapsed on the pipeline clock.
func (c *Clock) Now() time.Duration { return time.Since(c.start) }

// Start returns the wall-clock instant of time zero.
func (c *Clock) Start() time.Time { return c.start }

// At converts a wall-clock instant to pipeline time (monotonic where t
// carries a monotonic reading).
func (c *Clock) At(t time.Time) time.Duration { return t.Sub(c.start) }

// Wall converts pipeline time to a wall-clock instant.
func (c *Clock) Wall(d time.Duration) time.Time { return c.start.Add(d) }

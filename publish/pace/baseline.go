package pace

import "time"

// Baseline is the minimum of a delay over a sliding window, kept in two
// halves, so that it forgets a sample between one and two halves after it
// was taken: the delay with no queue on the path, which moves when the
// route does, or (one-way delays) as two clocks drift apart, by up to
// 0.1 ms a second.
type Baseline struct {
	// Window is how long a minimum is remembered, at most (0: 20 s).
	Window time.Duration
	v      [2]time.Duration
	ok     [2]bool
	at     time.Duration // start of the current half
}

// Add takes a sample at t (a monotonic time, any origin) and returns the
// sample's excess over the minimum: the time it waited in queues.
func (b *Baseline) Add(t, v time.Duration) time.Duration {
	w := b.Window
	if w <= 0 {
		w = 20 * time.Second
	}
	if t-b.at >= w/2 || t < b.at {
		b.v[0], b.ok[0] = b.v[1], b.ok[1]
		b.ok[1], b.at = false, t
	}
	if !b.ok[1] || v < b.v[1] {
		b.v[1], b.ok[1] = v, true
	}
	return max(0, v-b.Min())
}

// Min is the minimum over the window (0 before a sample).
func (b *Baseline) Min() time.Duration {
	m := b.v[1]
	if b.ok[0] && b.v[0] < m {
		m = b.v[0]
	}
	return m
}

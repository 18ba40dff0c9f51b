package abr

import "time"

// minSlots is the resolution of a minWindow: its minimum forgets a sample
// between 7/8 and 8/8 of the window after it was taken. A fixed array keeps
// Update free of allocations.
const minSlots = 8

// minWindow is the minimum of a value over a sliding time window, kept as
// the minima of minSlots consecutive sub-windows. Simpler than the
// three-sample Kathleen Nichols filter BBR uses, exact to one sub-window, and
// the window length here (seconds) needs no better.
type minWindow struct {
	win  time.Duration
	slot [minSlots]struct {
		start time.Duration // time of the slot's first sample
		v     time.Duration
		ok    bool
	}
	cur int
}

func (m *minWindow) add(t, v time.Duration) {
	s := &m.slot[m.cur]
	if s.ok && t-s.start < m.win/minSlots && t >= s.start {
		s.v = min(s.v, v)
		return
	}
	m.cur = (m.cur + 1) % minSlots
	s = &m.slot[m.cur]
	s.start, s.v, s.ok = t, v, true
}

// min returns the minimum of the samples taken within the window before t.
func (m *minWindow) min(t time.Duration) (time.Duration, bool) {
	var best time.Duration
	found := false
	for i := range m.slot {
		s := &m.slot[i]
		if !s.ok || t-s.start >= m.win {
			continue
		}
		if !found || s.v < best {
			best, found = s.v, true
		}
	}
	return best, found
}

func (m *minWindow) reset() {
	win := m.win
	*m = minWindow{win: win}
}

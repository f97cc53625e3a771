package clock

import (
	"sync"
	"time"
)

// Manual is a Clock that moves only when its owner calls Advance: timers
// armed on it fire when Advance reaches their
// deadline, and never otherwise. It is safe for concurrent use.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*manualTimer]struct{}
}

type manualTimer struct {
	at time.Time
	c  chan time.Time // buffered: firing never blocks; nil for AfterFunc
	f  func()         // AfterFunc's, run on its own goroutine
}

// NewManual returns a Manual clock that reads start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start, timers: map[*manualTimer]struct{}{}}
}

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// NewTimer arms a timer for d from now; d ≤ 0 fires at once.
func (m *Manual) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{at: m.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- m.now
		return t.c, func() bool { return false }
	}
	m.timers[t] = struct{}{}
	return t.c, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		_, pending := m.timers[t]
		delete(m.timers, t)
		return pending
	}
}

// AfterFunc arms f for d from now; d ≤ 0 runs it at once. f runs on its
// own goroutine, as time.AfterFunc's does.
func (m *Manual) AfterFunc(d time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	t := &manualTimer{at: m.now.Add(d), f: f}
	m.timers[t] = struct{}{}
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		_, pending := m.timers[t]
		delete(m.timers, t)
		return pending
	}
}

// Advance moves the clock d forward and fires every timer whose deadline
// it reaches. It returns the new time.
func (m *Manual) Advance(d time.Duration) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
	for t := range m.timers {
		if t.at.After(m.now) {
			continue
		}
		delete(m.timers, t)
		if t.f != nil {
			go t.f()
		} else {
			t.c <- m.now
		}
	}
	return m.now
}

// Timers is the number of timers armed and not yet fired or stopped: a
// test waits for a driver to have armed its next timer before it moves
// the clock past it.
func (m *Manual) Timers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

package clock

import "time"

// Clock is a source of time and timers. Its methods never block.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives the time once, after d, and
	// a function that stops the timer (reporting whether it had not fired
	// yet). After stop, the channel receives nothing.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Or returns c, or Real when c is nil: a zero option means the wall clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

package gossip

import "time"

// Clock is the driver's source of time, injected so that tests can control
// it. The protocol sees only the time elapsed since the Node started.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives the time once, after d, and
	// a function that stops the timer (reporting whether it had not fired
	// yet). After stop, the channel receives nothing.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (RealClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

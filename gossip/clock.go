package gossip

import "time"

// Clock is the driver's source of time, injected so that tests can control
// it. The protocol sees only the time elapsed since the Node started.
type Clock interface {
	Now() time.Time
	// NewTicker returns a channel that ticks every d and a function that
	// stops it.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTicker wraps time.NewTicker.
func (RealClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

package relay

import "time"

// Clock times the Switch's probes, injected so that tests decide when a
// probe runs instead of sleeping. It has the shape of gossip.Clock's timer.
type Clock interface {
	// NewTimer returns a channel that receives the time once, after d, and
	// a function that stops the timer. It must not block.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// wallClock is the real time.
type wallClock struct{}

func (wallClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

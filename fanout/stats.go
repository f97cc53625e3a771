package fanout

import "time"

// Stats is a snapshot of the cache for the driver's metrics
// (herald_fanout_*).
type Stats struct {
	Rev, WindowStart, CompactRev int64
	WindowEvents, WindowBytes    int
	HeldBatches                  int
	Streams, Watchers            int
	// SlowCancels counts watchers cancelled because the window moved past
	// events they had not taken; Gaps counts batches that arrived beyond a
	// gap.
	SlowCancels, Gaps uint64
	// LastAdvance is when (by the Tick clock) the cache revision last
	// moved: the driver stops serving Range from a cache whose feeder went
	// quiet for longer than the progress interval of its upstream watch.
	LastAdvance time.Time
}

// Stats returns the current figures.
func (c *Cache) Stats() Stats {
	st := Stats{
		Rev:          c.rev,
		WindowStart:  c.window.start,
		CompactRev:   c.compactRev,
		WindowEvents: c.window.events,
		WindowBytes:  c.window.bytes,
		HeldBatches:  c.chain.Held(),
		Streams:      len(c.streams),
		SlowCancels:  c.slowCancels,
		Gaps:         c.chain.Gaps(),
		LastAdvance:  c.lastAdvance,
	}
	for _, s := range c.streams {
		st.Watchers += len(s.order)
	}
	return st
}

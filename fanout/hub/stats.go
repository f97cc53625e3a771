package hub

import (
	"time"

	"github.com/heraldproj/herald/fanout"
)

// Stats is a snapshot of a hub for metrics and the status page.
type Stats struct {
	fanout.Stats
	// Feeding: this herald holds the upstream watch for the fleet.
	Feeding bool
	// SeenRev is the newest revision this herald has relayed to a client;
	// LagRevisions is how far the cache is behind it (0 when it is not).
	SeenRev, LagRevisions int64
	// SinceAdvance is how long ago the cache's revision last moved (zero
	// before it first moved).
	SinceAdvance time.Duration
}

// Stats returns the hub's current figures. It takes the hub's lock briefly
// and does no I/O.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	cs := h.cache.Stats()
	h.mu.Unlock()
	st := Stats{Stats: cs, Feeding: h.feed.IsFeeder(), SeenRev: h.seen.Load()}
	if st.SeenRev > cs.Rev {
		st.LagRevisions = st.SeenRev - cs.Rev
	}
	if !cs.LastAdvance.IsZero() {
		st.SinceAdvance = h.clock.Now().Sub(cs.LastAdvance)
	}
	return st
}

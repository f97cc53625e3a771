package relay

import "github.com/heraldproj/herald/internal/clock"

// Clock times the Switch's probes, injected so that tests decide when a
// probe runs instead of sleeping: herald's one clock seam (internal/clock).
type Clock = clock.Clock

package gossip

import "github.com/heraldproj/herald/internal/clock"

// Clock is the driver's source of time, injected so that tests can control
// it (herald's one clock seam, internal/clock). The protocol sees only the
// time elapsed since the Node started.
type Clock = clock.Clock

// Package clock is herald's one seam for time. A driver that reads the time
// or arms timers in its logic (the lease offloader's virtual lease clock,
// the fan-out hub's cache clock, the gossip driver, the relay's prober)
// takes a Clock, so that its tests move time instead of sleeping, and a
// test that shows nothing happened can show it at a known instant.
//
// Real is the wall clock; Manual is the one test double, moved only by its
// test. The package imports the standard library only. Lock order:
// Manual.mu is a leaf; Advance fires timers under it (each timer's channel
// is buffered and receives once, so the send never blocks).
package clock

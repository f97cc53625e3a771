// Package feed keeps a replica of an etcd key range current on every herald
// of the fleet while etcd sees only a few watchers: the driver of a feed of
// chained batches (fanout.Batch), for any consumer of them.
//
// A Feed loads a snapshot of its prefixes from etcd (Start), then:
//
//   - chooses feeders by rendezvous hash over the fleet's membership: the
//     top Config.Feeders heralds by a hash of (topic, name). A feeder
//     watches etcd from its replica's revision (one revision of overlap, so
//     that heartbeats flow on an idle cluster too), cuts what etcd sends
//     into batches chained by revision — each etcd answer is a cut with one
//     prefix; with several, a batch ends only at the revision of an answer
//     to a progress request, an exact cut across prefixes — applies them
//     and broadcasts them on its topic of the fleet bus; 500 ms after its
//     last batch an idle feeder broadcasts a heartbeat that lets every
//     herald see that it misses nothing: cut from the revision etcd
//     reported on herald's own keepalives since (Config.Witness), when the
//     feed holds it already, or else from etcd's answer to a progress
//     request (asked when no such answer came within 250 ms more);
//   - applies every batch the fleet delivers, in any order, any number of
//     times (the Sink orders them, e.g. with a fanout.Chain);
//   - repairs a gap that the broadcast tree has not filled within the
//     repair delay (300 ms) from an etcd watch of its own, and reloads the
//     snapshot when etcd has compacted past it. The repair loop sleeps
//     until a gap is reported and then until its delay is up: with no gap
//     open it arms no timer.
//
// Without a bus, a herald is its own feeder.
//
// Lock order: the Feed's mutexes are leaves that never nest, and none is
// held while the Feed calls its Sink, so a sink's own locks (Hub.mu, the
// lease index's indexSink.seq) are never taken under one of them.
// Feed.mu (started, closed, cancel) and Feed.repathMu (the repath channel)
// are never held across I/O. follow's sendMu is held across the watch
// stream's Send on purpose: gRPC allows one sender at a time, and the
// heartbeat and the watch loop both send; nothing else is taken under it.
// follow's loop alone owns its Cutter: the heartbeat hands it a witnessed
// revision over a channel, and a receiver goroutine hands it etcd's
// answers.
// docs/lock-order.md lists every package's order.
//
// Who serialises what: the Feed calls its Sink from several goroutines
// (Start's caller, the delivery loop, the feeder, the repair loop), holds
// no lock of its own while it does, and never holds one across I/O; the
// Sink serialises its own state (the fan-out hub under its mutex, the lease
// index likewise) and must not block on I/O. Every goroutine a Feed starts
// is stopped and waited for by Close.
//
// This package is a driver: it does I/O (the upstream seam's KV and
// Watches, the bus), runs goroutines and reads the clock (Config.Clock,
// herald's one clock seam, internal/clock); the protocol's decisions are
// the pure core's (fanout): the feeder choice (fanout.IsFeeder), the
// cutting of batches (fanout.Cutter), the batch format and the ordering
// logic. It must not import proxy/, lease/, gossip/ or memberlist: the bus
// is internal/fleet's Topic, which gossip provides, and the sink an
// interface that its users satisfy.
package feed

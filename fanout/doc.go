// Package fanout is herald's watch fan-out core: the event cache that every
// herald keeps for the configured fan-out prefixes (by default only the
// ranges of them that its own clients watch and read: Config.OnDemand,
// held.go), and the watch engine that serves client watch streams and
// serializable Range requests from it with etcd's exact semantics. It is a
// set of pure state machines, driven like etcd-io/raft's RawNode.
//
// Who calls what (all calls on one Cache and its Streams must be serialized
// by the driver, e.g. under one mutex; nothing here blocks, sleeps, reads the
// clock or starts a goroutine):
//
//   - The feeder side (the feed driver, fanout/feed: fleet deliveries, the
//     feeder's own watch, an upstream repair watch) calls Cache.Load once
//     with a snapshot, then Cache.Apply for every Batch it receives, in any
//     order and any number of times. Apply reports a Gap when a batch is
//     missing (a heartbeat, Batch.Heartbeat, reveals a lost last batch); the
//     driver repairs it from an upstream watch and Applies what it gets.
//     SetCompactRev records the upstream compact revision.
//   - Chain is the batch-ordering part of the Cache on its own (held
//     batches, gaps, drain in order), for any other replica fed by chained
//     batches, e.g. the fleet's lease index. PrefixEnd is etcd's prefix
//     range end, for the drivers.
//   - A clock goroutine calls Cache.Tick(now) (age eviction, progress_notify)
//     once at start and then at Cache.NextDeadline, and the driver ticks
//     before every Load, Apply and NewStream so that what they stamp counts
//     from now; the cache has no other clock.
//   - Feeders are chosen by Feeders / IsFeeder (rendezvous hashing over the
//     fleet's membership, salted by the feed's topic); a feeder cuts what
//     its upstream watch sends into chained batches with a Cutter (Events
//     for each events answer, Progress for each answer to a progress
//     request, which the Cutter asks for with several prefixes).
//   - Feeders encode what they broadcast with Batch.MarshalBinary; receivers
//     decode with Batch.UnmarshalBinary (strict, versioned, fuzzed).
//   - The hub (fanout/hub) calls Cache.ServesRange / Cache.Range for
//     serializable reads (and, on demand, reads the ranges Cache.Wants
//     from etcd for Cache.LoadRange or LoadRangeFailed), Cache.Covers for
//     watches, and per client watch stream Cache.NewStream,
//     Stream.Handle for every
//     WatchRequest, Stream.Ready to collect the responses to send and the
//     upstream work to start (catch-up watches, forwarded watches),
//     Stream.CatchUp / CatchUpCompacted with what a catch-up watch returns,
//     and Stream.Close when the client stream ends. After an input that
//     moves the cache (Load, Apply, Tick) the driver wakes the streams that
//     Cache.ReadyStreams reports, and a stream's own inputs are followed by
//     its Stream.HasReady / Ready. Authentication and
//     permission checks (etcd's isWatchPermitted, IsRangePermitted) happen in
//     proxy/, which passes streams and reads that carry an auth token
//     through to etcd.
//
// Responses carry complete headers (ClusterID and MemberID from Config,
// RaftTerm from SetRaftTerm) and belong to the caller, except that byte slices
// (keys, values) are shared with the cache and must not be written in place.
//
// This package owns the cache and the etcd watch/range semantics. It must not
// touch the network, gRPC, clientv3, memberlist, the clock or global rand, and
// knows nothing of how batches travel (gossip/, fanout/feed) or how streams
// are served (fanout/hub, proxy/). The etcd sources cited in comments are
// etcd v3.7.3 (server/etcdserver/api/v3rpc/watch.go,
// server/storage/mvcc/*.go, server/etcdserver/txn/range.go).
package fanout

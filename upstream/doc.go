// Package upstream is the seam between herald and the coordinator it
// relieves (etcd, or ZooKeeper): narrow interfaces named after what herald
// needs of it, not after a wire protocol.
//
// An Upstream is:
//
//   - KV: reads (Range) and writes (Put, DeleteRange), the conditional
//     write batch (Txn: compares, then one branch, atomically), and the
//     compaction point (Compact);
//   - Watches: a WatchStream of watches from a revision, created, cancelled
//     and asked for progress by name (Create, Cancel, RequestProgress),
//     whose answers (created, events, fragments, progress, cancels with
//     their reason or compact revision) arrive in order on Recv;
//   - Leases: the liveness of herald's own carrier and session leases, and
//     of the leases clients hold at the coordinator (Grant, Revoke,
//     TimeToLive, Leases, and a Keeper that renews them);
//   - Members: the coordinator's member list.
//
// Those are what the proxy's services, the lease offloader (lease/offload)
// and the fan-out (fanout/feed, fanout/hub) call. Everything else of
// etcd's API that herald passes through unchanged (Maintenance, Auth,
// Cluster's member changes, v3election and v3lock until the loopback serves
// them, KV's RangeStream) goes over a Forwarder, which only an upstream
// that speaks etcd's gRPC API offers; through any other upstream the proxy
// answers those calls with codes.Unimplemented.
//
// etcd's protobuf messages (etcdserverpb, mvccpb) are herald's data
// vocabulary on both sides of the seam: an adapter translates them to its
// coordinator (upstream/etcd passes them as they are), and answers with
// etcd's errors (rpctypes), so the proxy passes requests, answers and
// errors on without knowing which coordinator is behind it.
//
// A WatchStream groups the watches of one client stream, as etcd's watch
// stream does: the etcd adapter gives each WatchStream one etcd gRPC
// stream, so a client stream that holds many watches costs etcd one
// stream, and etcd's watch IDs, fragments and progress answers reach the
// client as etcd sent them.
//
// Calls across the seam carry their metadata in the context: Outgoing for a
// client's call passed on (the keys etcd reads, ForwardedMetadata),
// Internal for herald's own calls (no client token).
//
// A Witness carries the revision etcd reported on herald's own keepalives
// from the lease offloader to the feeds, which cut their idle heartbeats
// from it instead of asking etcd for progress. Lock order: Witness.mu is a
// leaf, held for a copy of two numbers.
//
// This package owns only the interfaces, that metadata and the Witness. It must not
// import clientv3, go-zookeeper or memberlist: those live behind the
// adapters. The embedded etcd and the v3lock/v3election loopback are not
// upstreams: they belong to the server's wiring (internal/embedetcd,
// internal/loopback).
package upstream

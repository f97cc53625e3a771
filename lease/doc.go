// Package lease is herald's virtual lease table: the leases that clients
// grant through herald, held and kept alive inside herald rather than at
// etcd, and the scheme that gives them IDs.
//
// # What it owns
//
//   - Table: a pure state machine for Grant, KeepAlive, Revoke, TimeToLive,
//     Leases, attaching keys to leases and Tick, which returns the leases
//     that expired, with their keys, for the caller to delete upstream.
//   - Record: the per-lease record the proxy persists upstream, its
//     versioned binary encoding, and Table.Restore to resume from it.
//   - Batches: splitting expired leases' keys into delete transactions.
//   - IDAllocator: fleet-unique virtual lease IDs.
//
// # What it must not touch
//
// No I/O, no goroutines, no gRPC, no clientv3, no time.Now, no sleeps, no
// global rand, no logging. Errors are plain Go errors (ErrLeaseNotFound,
// ErrLeaseExists, ErrLeaseTTLTooLarge); the proxy maps them to etcd's
// rpctypes. Nothing here is safe for concurrent use: one driver goroutine
// in the proxy owns the table and serialises calls.
//
// # Time
//
// Every time-dependent method takes now as a time.Time from the driver's
// injected clock. Only differences between readings matter to the table
// (expiry = now + TTL; remaining = expiry − now), so readings from time.Now
// keep their monotonic component and are immune to wall-clock steps; tests
// use a fixed base plus offsets. Expiry times are never persisted. Only
// NewIDAllocator reads the wall-clock value of now (Unix milliseconds), so
// that a restarted herald does not reuse IDs.
//
// The driver calls Tick whenever it likes (a period, or a timer armed at
// NextExpiry); a lease is expired from the instant now ≥ its expiry either
// way, so KeepAlive, TimeToLive, Attach and Leases never see a lease live
// past its TTL.
//
// # etcd semantics kept (checked against etcd v3.7.3's source)
//
//   - Grant: TTL above MaxLeaseTTL (9e9 s) is ErrLeaseTTLTooLarge, checked
//     before ErrLeaseExists, as in lessor.Grant. A TTL below the minimum,
//     zero and negative TTLs included, is not an error in etcd: the lessor
//     raises it to minLeaseTTL, ceil(1.5 × election timeout) = 2 s at etcd's
//     defaults (etcdserver/server.go). herald does the same with its own
//     minimum, Config.MinTTL, 1 s by default: a virtual lease costs etcd
//     nothing, so herald has no reason to refuse fast failure detection.
//     Set MinTTL to the upstream's value to answer exactly as it would.
//   - KeepAlive returns the granted TTL after refreshing, as LeaseRenew.
//     For an unknown lease etcd's keepalive stream answers TTL 0, not an
//     error; the proxy must do the same with ErrLeaseNotFound.
//   - TimeToLive: remaining TTL is int64(remaining.Seconds()) (truncated),
//     as EtcdServer.leaseTimeToLive; an unknown lease is answered with
//     TTL -1 and no error, as LeaseServer.LeaseTimeToLive does.
//   - Revoke of an unknown lease is ErrLeaseNotFound.
//
// # Restart
//
// Records carry the granted TTL, not the expiry. Restore gives each lease a
// full TTL from the moment herald comes back: a restarted herald gives the
// surviving clients one whole TTL to send their next keepalive, so no live
// client loses a key to herald's restart. The price is that a client that
// died just before the restart is detected up to one TTL late.
//
// # Lease IDs
//
// etcd grants a lease ID as idutil.Generator.Next() & (1<<63 − 1) (see
// EtcdServer.LeaseGrant): bit 63 is 0, bits 48..62 are the low 15 bits of
// the granting member's ID, bits 0..47 a counter seeded with Unix
// milliseconds << 8 at the member's start. Virtual IDs use the same layout:
//
//   - prefix (bits 48..62): chosen by NewIDAllocator among the 15-bit
//     values that no current upstream member's ID has (MemberPrefix), that
//     no peer herald announced (IDConfig.AvoidPrefixes) and that are not 0
//     (where small client-chosen IDs live), starting from a hash of the
//     herald's identity and probing upwards. etcd-granted leases therefore
//     never share a virtual lease's prefix, and peers rarely share one.
//   - suffix (bits 0..47): a counter seeded with Unix milliseconds << 8 from
//     the clock passed in, incremented by Next; it does not repeat for 2^48
//     draws, and a restart more than n/256 ms after the previous process's
//     start (n = its draws) starts above everything it issued.
//   - Fleet-wide uniqueness is finally enforced by the proxy, which creates
//     each lease record upstream with a create-if-absent transaction and,
//     on conflict, draws again. Grant also skips IDs already in the table.
//
// A client-chosen ID is honoured when the table does not hold it, whatever
// its prefix; whether a direct etcd lease already has it is for the proxy
// to check upstream.
package lease

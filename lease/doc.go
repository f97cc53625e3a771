// Package lease is the pure core of herald's virtual leases: the leases that
// clients grant through herald, held and kept alive inside the fleet rather
// than at etcd (docs/fleet-leases.md has the design, package lease/offload
// the driver that runs it).
//
// # What it owns
//
//   - Table: the leases one herald owns, a state machine for Grant,
//     KeepAlive, Revoke, TimeToLive, Leases, attaching keys (with the
//     revision of each attachment) and Tick, which returns the leases that
//     expired, with their carrier and keys, for the driver to delete.
//   - Keyspace: the reserved key range upstream and the layout of herald's
//     records in it (sessions, carriers, lease records, attachments), the
//     splitting of client ranges around it, and the transactions herald
//     sends: a client's txn rewritten for virtual leases (PlanTxn, Finish),
//     the deletes of ended leases with their one crash ordering
//     (DeleteTxns), the claim of a carrier (TakeoverTxn, ClaimNewTxn).
//   - Index: every herald's replica of the reserved keyspace of the whole
//     fleet: who owns which carrier, which lease hangs on which carrier,
//     which key on which lease (and lately deleted attachments).
//   - Ownership: which carriers this herald may act on, and until when, from
//     the times its keepalives were sent (never ahead of etcd's view).
//   - Successors: who adopts an orphaned carrier.
//   - Record, CarrierRecord, SessionInfo: the values herald stores, with
//     strict, versioned, fuzzed decoders (they come off the network).
//   - IDAllocator, InternalPrefix: virtual lease IDs and the prefix of
//     herald's own etcd leases (carriers, sessions).
//
// # What it must not touch
//
// No I/O, no goroutines, no gRPC services, no clientv3, no time.Now, no
// sleeps, no global rand, no logging. Its transactions are etcd protobuf
// messages for the driver to send. Errors are plain Go errors
// (ErrLeaseNotFound, ErrLeaseExists, ErrLeaseTTLTooLarge, ErrReserved); the
// driver maps them to etcd's rpctypes. Nothing here is safe for concurrent
// use: the driver serialises calls.
//
// # Time
//
// Every time-dependent method takes now as a time.Time from the driver's
// injected clock. Only differences between readings matter (expiry = now +
// TTL; remaining = expiry − now), so readings from time.Now keep their
// monotonic component and are immune to wall-clock steps; tests use a fixed
// base plus offsets. Expiry times are never persisted. Only NewIDAllocator
// reads the wall-clock value of now (Unix milliseconds), so that a
// restarted herald does not reuse IDs.
//
// A lease is expired from the instant now ≥ its expiry, whether Tick has
// collected it yet or not: KeepAlive, TimeToLive, Attach and Leases never
// see a lease live past its TTL.
//
// # etcd semantics kept (checked against etcd v3.7.3's source)
//
//   - Grant: TTL above MaxLeaseTTL (9e9 s) is ErrLeaseTTLTooLarge, checked
//     before ErrLeaseExists, as in lessor.Grant. A TTL below the minimum,
//     zero and negative TTLs included, is raised to it as etcd's lessor
//     raises it to minLeaseTTL (2 s at etcd's defaults); herald's minimum is
//     Config.MinTTL, 1 s by default: a virtual lease costs etcd nothing.
//   - KeepAlive returns the granted TTL after refreshing, as LeaseRenew; for
//     an unknown lease etcd's keepalive stream answers TTL 0, not an error,
//     and so must the driver.
//   - TimeToLive: remaining TTL is int64(remaining.Seconds()) (truncated);
//     an unknown lease is TTL -1 and no error.
//   - Revoke of an unknown lease is ErrLeaseNotFound.
//   - A Put with an ended lease is ErrLeaseNotFound (the rewritten txn
//     compares the lease's record); a key rewritten after its attachment by
//     anyone is not deleted with the lease, unless it kept the lease.
//
// # Restart and takeover
//
// Records carry the granted TTL, not the expiry. Restore gives each lease a
// full TTL from the moment it is adopted (by a successor, or by the same
// herald after a restart): clients that keep sending keepalives lose
// nothing; a client that died just before is detected up to one TTL late.
//
// # Lease IDs
//
// etcd grants a lease ID as idutil.Generator.Next() & (1<<63 − 1): bit 63
// is 0, bits 48..62 are the low 15 bits of the granting member's ID, bits
// 0..47 a counter seeded with Unix milliseconds << 8. Virtual IDs use the
// same layout with a prefix that no etcd member's ID has, that is not the
// internal prefix (InternalPrefix: where herald's carriers and sessions
// live) and not 0, chosen from a hash of the herald's name; fleet-wide
// uniqueness is enforced by creating each lease's record only if absent.
// A client-chosen ID is honoured when no lease, virtual or at etcd, has it.
package lease

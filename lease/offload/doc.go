// Package offload is the driver of herald's virtual leases: it runs the
// pure core of package lease against etcd and the fleet.
//
// # What it owns
//
//   - The herald's session (a short internal lease with its session key) and
//     its carriers (internal leases that its virtual leases' keys hang on),
//     kept alive over one keepalive stream; the validity of each, from the
//     time its keepalives were sent (lease.Ownership).
//   - The table of the virtual leases this herald owns: grants (with their
//     records, fenced), keepalives (answered only while the session and the
//     carrier are confirmed), TimeToLive (keys checked at etcd), revokes and
//     expiry (fenced, batched deletes: lease.Keyspace.DeleteTxns), on the
//     keepalive intake's clock (intake.go).
//   - This herald's copy of the fleet's lease index (lease.Index) and what an
//     owner learns from it: keys other heralds attach to its leases, carriers
//     taken over from it, sessions that end and leave carriers to adopt.
//   - Takeover: claiming an orphaned carrier when this herald is its
//     successor, and adopting its leases with a full TTL.
//   - Routing a call about any lease to its owner (Route), rewriting clients'
//     writes (PlanTxn / FinishTxn) and showing virtual leases instead of
//     carriers (Translate).
//
// The design, and why each step is safe, is docs/fleet-leases.md.
//
// # What it must not touch
//
// No gRPC server code (proxy/ serves the streams and forwards calls to
// peers; this package answers with plain values and Verdicts), no
// memberlist or broadcast tree (the index arrives through a feed), no
// viper/cobra. Its upstream calls carry contexts without client metadata.
//
// # Locks
//
// Offloader.mu guards the table, the ownership and the carrier choice;
// index.mu guards the index. The order is mu, then index.mu; neither is
// held across I/O. setup serialises the creation and claiming of upstream
// state (session, carriers, takeovers) and is taken before mu.
package offload

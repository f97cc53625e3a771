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
//   - Its readiness (readiness.go): Starting until Start has succeeded,
//     then Ready, or Off when etcd refuses herald's own requests for want
//     of credentials or permissions. TryStart is Start for
//     internal/startup, which retries it in the background; the gRPC
//     services read Readiness.
//
// The design, and why each step is safe, is docs/fleet-leases.md.
//
// # What it must not touch
//
// No gRPC server code (proxy/ serves the streams and forwards calls to
// peers; this package answers with plain values and Verdicts), no
// memberlist or broadcast tree (the index arrives through a feed), no
// viper/cobra. Its upstream calls go as herald's own etcd user (asHerald),
// never with a client's metadata; only a Permit's probes (permit.go) ask
// etcd with a client's token, whether it may do what herald is about to do
// for it as herald.
//
// # Lock order
//
//	indexSink.seq → Offloader.mu → index.mu
//	Offloader.setup → Offloader.mu → index.mu
//
// Offloader.mu guards the table, the ownership and the carrier choice;
// index.mu (index.go) guards the index. The hot read paths of clients'
// answers stay off mu: Translate, on every watch response a herald serves,
// reads the internal lease prefix (an atomic set at Start) and the index,
// because mu is held across a whole expiry batch. mu may be taken before index.mu
// (reconcileOwned), never after: a function given to index.read must not
// take mu.
//
// indexSink.seq (index_sink.go) is taken by the feed's calls into the
// sink and keeps the owner's reactions in revision order: under it the
// sink takes index.mu for the index alone, releases it, then reacts
// (indexMoved, which takes mu). setup serialises what creates or claims
// upstream state (the session, carriers, takeovers, retiring carriers).
// seq and setup are both outermost and never held together; nothing under
// seq takes setup, so setup's holder may wait for the index (WaitIndex).
//
// Leaves, taken under the locks above but holding none: intake.mu (the
// table's clock: o.now() under mu), broadcast.mu (changed and repath;
// fired under mu and seq), spawnMu (spawn under seq), leaseSet.mu, and
// renewStream's pending-sends mutex. deleteUpstream's own results mutex is
// taken before mu (a carrier found lost).
//
// setup is the one lock held across etcd calls and waits, by design; a
// grant waiting for it gives up at its deadline (setup_lock.go).
// None of seq, mu, index.mu or the leaves is held across an etcd call or a
// blocking channel send (kickTakeover and broadcast.fire do not block).
// docs/lock-order.md lists every package's order.
package offload

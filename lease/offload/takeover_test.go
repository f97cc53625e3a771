package offload

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
)

// TestSuccessorAdoptsACrashedHeraldsLeases kills a herald (nothing of it
// reaches etcd any more, its session is not revoked) and checks that a
// peer takes its carrier over once the session has expired at etcd,
// restores its leases with their keys, answers their keepalives with the
// full TTL, and expires, about a TTL after the takeover, the lease that
// nobody keeps alive: its key, record and attachment go, the other lease's
// key stays.
func TestSuccessorAdoptsACrashedHeraldsLeases(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ks := a.o.Keyspace()

	kept, idle := a.grant(3), a.grant(3)
	c := a.carrierOf(kept)
	if a.carrierOf(idle) != c {
		t.Fatal("with one carrier per class, both leases must hang on it")
	}
	k1, k2 := f.key("kept"), f.key("idle")
	a.put(k1, "v1", kept)
	rev := a.put(k2, "v2", idle).Header.Revision
	b.waitIndex(rev)

	// The clients' last keepalives at a: a's deadlines for the leases are
	// at most a TTL after them.
	for _, id := range []int64{kept, idle} {
		if _, v := a.keepAlive(id); v != Answered {
			t.Fatalf("keepalive at a: verdict %v", v)
		}
	}
	aDeadline := time.Now().Add(3 * time.Second)
	a.crash()
	waitUntil(t, "b owning a's carrier", func() bool { return b.owns(c) })
	// b restored them with a full TTL from the takeover, which came after
	// a's session expired at etcd: b's deadlines are later than a's (its
	// table asked about a moment just past a's deadline, whatever the time
	// now).
	for _, id := range []int64{kept, idle} {
		if !b.aliveAt(id, aDeadline.Add(100*time.Millisecond)) {
			t.Fatalf("b restored lease %x with less than a full TTL from the takeover: it ends before a's deadline", id)
		}
	}
	if rec, ok := carrierRecordAt(t, ks, c); !ok || rec.Owner != "b" || rec.Session != b.session() {
		t.Fatalf("carrier record after the takeover: %+v (found %v), want owner b with session %x", rec, ok, uint64(b.session()))
	}
	for _, k := range []string{k1, k2} {
		if kv := kvAt(t, []byte(k)); kv == nil || lease.ID(kv.Lease) != c {
			t.Fatalf("%s after the takeover: %+v, want it still on carrier %x", k, kv, uint64(c))
		}
	}
	ka, v := b.keepAlive(kept)
	if v != Answered || ka.TTL != 3 {
		t.Fatalf("first keepalive at the successor: %v %+v, want Answered with TTL 3", v, ka)
	}
	ttl, v, err := b.timeToLive(idle)
	if err != nil || v != Answered || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != k2 || ttl.GrantedTTL != 3 {
		t.Fatalf("TimeToLive of the idle lease at the successor: %v %+v %v, want Answered, granted 3, key %s", v, ttl, err, k2)
	}

	// The client of kept has failed over to b and keeps it alive there.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, v := b.keepAlive(kept); v != Answered {
				t.Errorf("keepalive of the kept lease at b: verdict %v", v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	stopped := false
	stopKeepAlives := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopKeepAlives()

	waitUntil(t, "the idle lease's key gone", func() bool { return !existsAt(t, []byte(k2)) })
	if existsAt(t, ks.RecordKey(lease.ID(idle))) || len(keysUnder(t, ks.AttachPrefix(lease.ID(idle)))) > 0 {
		t.Fatal("the idle lease's key went, but not its record and attachment")
	}
	if b.holds(idle) {
		t.Fatal("b still holds the expired lease")
	}
	if !existsAt(t, []byte(k1)) || !b.holds(kept) {
		t.Fatal("the lease kept alive at the successor lost its key")
	}
	stopKeepAlives()

	if _, v, err := b.revoke(kept); err != nil || v != Answered {
		t.Fatalf("revoke at the successor: %v %v", v, err)
	}
	if existsAt(t, []byte(k1)) {
		t.Fatal("the revoke at the successor left the key")
	}
}

// TestFormerOwnersFencedWritesChangeNothing delays a herald's writes (a
// revoke's deletes, a grant's record) past the moment it lost its
// carrier: its session expired at etcd while its keepalives were cut, and
// a peer took the carrier over. etcd refuses the writes (their fence, the
// carrier record's revision, no longer holds), so the revoke deletes
// nothing and answers NotHeld (the call goes to the new owner), the grant
// lands on a fresh carrier under a new session, and the herald forgets the
// carrier's leases, which live on at the successor.
func TestFormerOwnersFencedWritesChangeNothing(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ks := a.o.Keyspace()
	ctx := harness.Context(t, time.Minute)

	l1, l2 := a.grant(3), a.grant(3)
	c := a.carrierOf(l1)
	k1, k2 := f.key("k1"), f.key("k2")
	a.put(k1, "v1", l1)
	p2 := a.put(k2, "v2", l2)
	b.waitIndex(p2.Header.Revision)
	a.o.mu.Lock()
	oldFence := a.o.own.Fence(ks, c)
	a.o.mu.Unlock()

	a.conn.holdTxns()
	revokeDone := a.revokeAsync(l1)
	grantDone := make(chan *pb.LeaseGrantResponse, 1)
	go func() {
		g, err := a.o.Grant(ctx, &pb.LeaseGrantRequest{TTL: 3})
		if err != nil {
			t.Errorf("grant at a after it lost its carrier: %v", err)
		}
		grantDone <- g
	}()
	waitUntil(t, "a's revoke and grant at its gate", func() bool { return a.conn.gated.Load() >= 2 })
	a.conn.cut(false, keepAliveMethod, watchMethod)
	waitUntil(t, "b owning a's carrier", func() bool { return b.owns(c) })

	// The lease core's deletes, fenced with a's claim, are refused by etcd.
	doomed := []lease.Expired{{ID: lease.ID(l2), Carrier: c, Keys: []lease.AttachedKey{{Key: k2, Rev: p2.Header.Revision}}}}
	plan := ks.DeleteTxns(doomed, func(lease.ID) *pb.Compare { return oldFence }, 0)
	resp, err := shared.cli.Txn(ctx, plan[0].Txn)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Succeeded {
		t.Fatal("etcd ran a delete fenced with the former owner's claim")
	}

	// a's delayed writes reach etcd.
	a.conn.heal(false, keepAliveMethod, watchMethod)
	a.o.PathChanged()
	a.conn.release()
	if r := receive(t, "a's revoke", revokeDone); r.err != nil || r.v != NotHeld {
		t.Fatalf("revoke at the former owner: %v %v, want NotHeld (the call goes to the new owner)", r.v, r.err)
	}
	g := receive(t, "a's grant", grantDone)
	if g != nil {
		recKV := kvAt(t, ks.RecordKey(lease.ID(g.ID)))
		if recKV == nil || lease.ID(recKV.Lease) == c {
			t.Fatalf("the grant's record at etcd: %+v, want it on a fresh carrier, not %x", recKV, uint64(c))
		}
		if rec, ok := carrierRecordAt(t, ks, lease.ID(recKV.Lease)); !ok || rec.Owner != "a" || rec.Session != a.session() {
			t.Fatalf("the fresh carrier's record: %+v (found %v), want a under its new session %x", rec, ok, uint64(a.session()))
		}
	}
	if !strings.Contains(a.log.String(), "a grant found its record changed") {
		t.Error("a's log does not say that the grant's fence failed")
	}

	// Nothing of c's changed: its records are l1 and l2, their keys stay,
	// and b answers for both.
	onC := func() []int64 {
		resp, err := shared.cli.Range(ctx, &pb.RangeRequest{Key: ks.RecordsPrefix(), RangeEnd: lease.PrefixEnd(ks.RecordsPrefix())})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, kv := range resp.Kvs {
			if p, ok := ks.Parse(kv.Key); ok && lease.ID(kv.Lease) == c {
				ids = append(ids, int64(p.ID))
			}
		}
		slices.Sort(ids)
		return ids
	}
	want := []int64{l1, l2}
	slices.Sort(want)
	if got := onC(); !slices.Equal(got, want) {
		t.Fatalf("records on the carrier: %x, want %x", got, want)
	}
	for _, k := range []string{k1, k2} {
		if !existsAt(t, []byte(k)) {
			t.Fatalf("%s was deleted by a fenced write", k)
		}
	}
	if a.owns(c) || a.holds(l1) || a.holds(l2) {
		t.Fatal("the former owner still holds the carrier or its leases")
	}
	for _, id := range []int64{l1, l2} {
		if ka, v := b.keepAlive(id); v != Answered || ka.TTL != 3 {
			t.Fatalf("keepalive of %x at the successor: %v %+v", id, v, ka)
		}
	}

	// Control: the same deletes fenced with the successor's claim run.
	b.o.mu.Lock()
	newFence := b.o.own.Fence(ks, c)
	b.o.mu.Unlock()
	plan = ks.DeleteTxns(doomed, func(lease.ID) *pb.Compare { return newFence }, 0)
	if resp, err := shared.cli.Txn(ctx, plan[0].Txn); err != nil || !resp.Succeeded {
		t.Fatalf("the deletes fenced with the new owner's claim: %v %v, want them run", resp, err)
	}
	if existsAt(t, []byte(k2)) {
		t.Fatal("the control delete left the key")
	}
}

// TestFormerOwnerLearnsOfTheTakeoverFromItsIndex cuts a herald's streams
// (its session and carrier keepalives, its index's watch) long enough for a
// peer to take its carrier over, then lets the watch through again: the
// index shows the carrier's new record, and the herald drops the carrier's
// leases without deleting anything, and routes them to the new owner.
func TestFormerOwnerLearnsOfTheTakeoverFromItsIndex(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ks := a.o.Keyspace()

	id := a.grant(3)
	c := a.carrierOf(id)
	k := f.key("k")
	b.waitIndex(a.put(k, "v", id).Header.Revision)

	a.conn.cut(false, keepAliveMethod, watchMethod)
	waitUntil(t, "b owning a's carrier", func() bool { return b.owns(c) })
	// a has seen nothing yet; it cannot vouch for the lease any more (its
	// session is not confirmed), and it holds the call back.
	if !a.owns(c) || !a.holds(id) {
		t.Fatal("a dropped its carrier before anything told it")
	}
	if _, v := a.keepAliveOnce(id); v != Hold {
		t.Fatalf("keepalive at a, its session unconfirmed: verdict %v, want Hold", v)
	}

	a.conn.heal(false, watchMethod)
	a.o.PathChanged()
	waitUntil(t, "a dropping the taken carrier", func() bool { return !a.owns(c) && !a.holds(id) })
	if !strings.Contains(a.log.String(), "another herald took it over") {
		t.Errorf("a did not learn of the takeover from its index:\n%s", a.log.String())
	}
	if !existsAt(t, []byte(k)) || !existsAt(t, ks.RecordKey(lease.ID(id))) {
		t.Fatal("the former owner deleted the lease's key or record")
	}
	if r := a.route(id); r.Kind != RouteForward || r.Owner != "b" || r.URL != b.url {
		t.Fatalf("route at the former owner: %+v, want forward to b at %s", r, b.url)
	}
	if ka, v := b.keepAlive(id); v != Answered || ka.TTL != 3 {
		t.Fatalf("keepalive at the successor: %v %+v", v, ka)
	}
}

// TestTakeoverInTheCarriersLastSecond lets a successor's claim reach etcd
// when the dead herald's carrier has less than a second left, which etcd's
// LeaseTimeToLive reports as TTL 0 (whole seconds, truncated) for a lease
// that is still alive (-1 is a lease etcd does not know). The successor has
// claimed the carrier's record by then: it must keep the carrier, renew it
// and adopt its leases, whose keys stay. Giving the carrier up instead
// leaves it to expire at etcd with every key on it, and nobody else can
// claim it (its record names a live session).
func TestTakeoverInTheCarriersLastSecond(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ks := a.o.Keyspace()

	id := a.grant(3)
	c := a.carrierOf(id)
	k := f.key("k")
	b.waitIndex(a.put(k, "v", id).Header.Revision)

	b.conn.holdTxns()
	a.crash()
	waitUntil(t, "b's claim at its gate", func() bool { return b.conn.gated.Load() > 0 })
	waitUntil(t, "the carrier in its last second at etcd", func() bool { return etcdTTL(t, int64(c)) <= 0 })
	if ttl := etcdTTL(t, int64(c)); ttl != 0 {
		t.Fatalf("the carrier's TTL at etcd is %d: the test released b's claim too late", ttl)
	}
	b.conn.release()
	var claimedBy string // the owner last seen in the carrier's record
	waitUntil(t, "b owning the carrier, or the carrier gone", func() bool {
		rec, ok := carrierRecordAt(t, ks, c)
		if ok {
			claimedBy = rec.Owner
		}
		return b.owns(c) || !ok
	})
	if !b.owns(c) {
		t.Fatalf("b's claim reached etcd with under a second of the carrier left (its record last named %q), "+
			"but b did not keep the carrier: it expired at etcd, and the key %s with it (still there: %v)",
			claimedBy, k, existsAt(t, []byte(k)))
	}
	waitUntil(t, "b renewing the carrier", func() bool { return etcdTTL(t, int64(c)) > 1 })
	if !existsAt(t, []byte(k)) {
		t.Fatal("the key went with the takeover")
	}
	if ka, v := b.keepAlive(id); v != Answered || ka.TTL != 3 {
		t.Fatalf("keepalive at the successor: %v %+v, want Answered with TTL 3", v, ka)
	}
}

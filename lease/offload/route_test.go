package offload

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
)

// TestRouteFindsEachLeasesOwner routes calls about several kinds of lease
// from a herald that owns none of them: a virtual lease goes to its owner's
// URL, whether the router's index has it yet or not; a lease granted at
// etcd directly, and an ID that no herald and no etcd knows, go to etcd
// (which answers, for the latter, as for any lease it does not know); and a
// lease whose revoke is under way is Gone at its owner (it holds the
// carrier but no more the lease) while the others still forward to it.
func TestRouteFindsEachLeasesOwner(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ctx := harness.Context(t, time.Minute)

	// Asked at once, b may or may not have the lease in its index yet:
	// either way it must find the owner.
	id := a.grant(3)
	if r := b.route(id); r.Kind != RouteForward || r.Owner != "a" || r.URL != a.url {
		t.Fatalf("route at b, right after the grant: %+v, want forward to a at %s", r, a.url)
	}
	if r := a.route(id); r.Kind != RouteLocal {
		t.Fatalf("route at the owner: %+v, want RouteLocal", r)
	}

	g, err := shared.cli.Grant(ctx, &pb.LeaseGrantRequest{TTL: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := callCtx()
		defer cancel()
		_, _ = shared.cli.Revoke(ctx, &pb.LeaseRevokeRequest{ID: g.ID})
	})
	for _, n := range []*node{a, b} {
		if r := n.route(g.ID); r.Kind != RouteUpstream {
			t.Fatalf("route at %s of a lease granted at etcd: %+v, want RouteUpstream", n.name, r)
		}
	}

	// An ID shaped like a's virtual leases that nobody granted.
	unknown := id ^ 0x5a5a
	for _, n := range []*node{a, b} {
		if r := n.route(unknown); r.Kind != RouteUpstream {
			t.Fatalf("route at %s of an unknown lease: %+v, want RouteUpstream", n.name, r)
		}
	}
	if ttl := etcdTTL(t, unknown); ttl != -1 {
		t.Fatalf("etcd's TimeToLive of the unknown lease: %d, want -1 (not found)", ttl)
	}

	// A revoke whose deletes have not reached etcd yet.
	b.waitIndex(kvAt(t, a.o.Keyspace().RecordKey(lease.ID(id))).ModRevision)
	a.conn.holdTxns()
	revoked := make(chan error, 1)
	go func() {
		_, v, err := a.revoke(id)
		if err == nil && v != Answered {
			t.Errorf("revoke at the owner: verdict %v, want Answered", v)
		}
		revoked <- err
	}()
	waitUntil(t, "the revoke's delete at a's gate", func() bool { return a.conn.gated.Load() > 0 })
	if r := a.route(id); r.Kind != RouteGone {
		t.Errorf("route at the owner while its revoke is under way: %+v, want RouteGone", r)
	}
	if r := b.route(id); r.Kind != RouteForward || r.Owner != "a" {
		t.Errorf("route at b while the revoke is under way: %+v, want forward to a", r)
	}
	a.conn.release()
	if err := receive(t, "a's revoke", revoked); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}

// TestRouteHoldsWhileTheOwnerIsReplaced routes a dead herald's lease while
// its session is gone and no successor has claimed the carrier yet: the
// call waits (RouteHold), it is not answered as a lease that ended. Once
// the successor claims the carrier, the lease is local there.
func TestRouteHoldsWhileTheOwnerIsReplaced(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")

	id := a.grant(3)
	k := f.key("k")
	a.put(k, "v", id)
	c := a.carrierOf(id)
	b.waitIndex(kvAt(t, []byte(k)).ModRevision)

	// b is the only successor; its claim waits at its gate.
	b.conn.holdTxns()
	a.crash()
	waitUntil(t, "a's session gone from b's index", func() bool {
		gone := false
		b.o.idx.read(func(ix *lease.Index) { _, live, _ := ix.OwnerOf(c); gone = !live })
		return gone
	})
	if r := b.route(id); r.Kind != RouteHold {
		t.Fatalf("route at b, a's session gone: %+v, want RouteHold", r)
	}
	waitUntil(t, "b's takeover at its gate", func() bool { return b.conn.gated.Load() > 0 })
	if r := b.route(id); r.Kind != RouteHold {
		t.Fatalf("route at b, its takeover under way: %+v, want RouteHold", r)
	}
	if _, v := b.keepAlive(id); v != NotHeld {
		t.Fatalf("keepalive at b before its claim: verdict %v, want NotHeld", v)
	}
	if !existsAt(t, []byte(k)) {
		t.Fatal("the key went before anyone took its carrier over")
	}

	b.conn.release()
	waitUntil(t, "b holding the lease", func() bool { return b.holds(id) && b.owns(c) })
	if r := b.route(id); r.Kind != RouteLocal {
		t.Fatalf("route at the successor: %+v, want RouteLocal", r)
	}
	if ka, v := b.keepAlive(id); v != Answered || ka.TTL != 3 {
		t.Fatalf("keepalive at the successor: %v %+v, want Answered with TTL 3", v, ka)
	}
}

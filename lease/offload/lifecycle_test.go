package offload

import (
	"slices"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
)

// TestLeaseLifecycleAtEtcd follows one virtual lease from its grant to its
// revoke, through two Offloaders, and checks each step where it must show:
// at etcd. The record is written before the grant is answered; the owner
// answers keepalives, the other herald does not; keys put through either
// hang on the owner's carrier with an attachment beside them; TimeToLive
// lists exactly the keys that are still the lease's at etcd; Leases lists
// the lease and hides the internal ones; Revoke deletes the record, the
// lease's keys and their attachments before it answers, and spares a key
// rewritten without the lease since; afterwards the lease routes as one
// that etcd does not know, and etcd indeed does not.
func TestLeaseLifecycleAtEtcd(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ks := a.o.Keyspace()
	ctx := harness.Context(t, time.Minute)

	id := a.grant(4)
	c := a.carrierOf(id)
	if !lease.IsInternal(c, a.o.internalPrefix()) {
		t.Fatalf("carrier %x is not an internal lease", uint64(c))
	}
	recKV := kvAt(t, ks.RecordKey(lease.ID(id)))
	if recKV == nil {
		t.Fatalf("no record of lease %x at etcd after its grant was answered", id)
	}
	if lease.ID(recKV.Lease) != c {
		t.Fatalf("record of %x hangs on %x, want its carrier %x", id, recKV.Lease, uint64(c))
	}
	rec, err := lease.DecodeRecord(recKV.Value)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != lease.ID(id) || rec.TTL != 4 || rec.Owner != "a" {
		t.Fatalf("record %+v, want lease %x, TTL 4, owner a", rec, id)
	}
	if cr, ok := carrierRecordAt(t, ks, c); !ok || cr.Owner != "a" || cr.Session != a.session() {
		t.Fatalf("carrier record %+v (found %v), want owner a with session %x", cr, ok, uint64(a.session()))
	}
	if ttl := etcdTTL(t, id); ttl != -1 {
		t.Fatalf("etcd knows the virtual lease %x (TTL %d): it must not", id, ttl)
	}

	ka, v := a.keepAlive(id)
	if v != Answered || ka.ID != id || ka.TTL != 4 {
		t.Fatalf("keepalive at the owner: %v %+v, want Answered with TTL 4", v, ka)
	}
	if _, v := b.keepAlive(id); v != NotHeld {
		t.Fatalf("keepalive at b, which does not own the lease: verdict %v, want NotHeld", v)
	}

	// One key through the owner, two through the other herald; one of
	// those is then rewritten without the lease.
	k1, k2, k3 := f.key("k1"), f.key("k2"), f.key("k3")
	a.put(k1, "v1", id)
	b.put(k2, "v2", id)
	b.put(k3, "v3", id)
	for _, k := range []string{k1, k2, k3} {
		kv := kvAt(t, []byte(k))
		if kv == nil || lease.ID(kv.Lease) != c {
			t.Fatalf("%s at etcd: %+v, want it on carrier %x", k, kv, uint64(c))
		}
		att := kvAt(t, ks.AttachKey(lease.ID(id), []byte(k)))
		if att == nil || att.ModRevision != kv.ModRevision {
			t.Fatalf("attachment of %s: %+v, want one written with the key (revision %d)", k, att, kv.ModRevision)
		}
	}
	// A Put's previous key-value shows the lease as the client put it.
	again := b.put(k1, "v1'", id)
	if again.PrevKv == nil || again.PrevKv.Lease != id {
		t.Fatalf("prev_kv of a Put over %s: %+v, want lease %x", k1, again.PrevKv, id)
	}
	b.put(k3, "v3'", 0)

	ttl, v, err := a.timeToLive(id)
	if err != nil || v != Answered {
		t.Fatalf("TimeToLive at the owner: %v, %v", v, err)
	}
	var keys []string
	for _, k := range ttl.Keys {
		keys = append(keys, string(k))
	}
	if want := []string{k1, k2}; !slices.Equal(keys, want) {
		t.Fatalf("TimeToLive keys %q, want %q (the key rewritten without the lease is not the lease's)", keys, want)
	}
	if ttl.GrantedTTL != 4 || ttl.TTL < 0 || ttl.TTL > 4 {
		t.Fatalf("TimeToLive: TTL %d granted %d, want granted 4 and 0 ≤ TTL ≤ 4", ttl.TTL, ttl.GrantedTTL)
	}

	etcdLeases, err := shared.cli.Leases(ctx, &pb.LeaseLeasesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	listed := func(n *node) []int64 {
		t.Helper()
		resp, err := n.o.MergeLeases(ctx, &pb.LeaseLeasesResponse{Leases: slices.Clone(etcdLeases.Leases)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, l := range resp.Leases {
			if lease.IsInternal(lease.ID(l.ID), n.o.internalPrefix()) {
				t.Fatalf("%s lists internal lease %x", n.name, l.ID)
			}
			ids = append(ids, l.ID)
		}
		return ids
	}
	for _, n := range []*node{a, b} {
		if !slices.Contains(listed(n), id) {
			t.Fatalf("%s does not list virtual lease %x", n.name, id)
		}
	}

	rv, v, err := a.revoke(id)
	if err != nil || v != Answered {
		t.Fatalf("revoke at the owner: %v, %v", v, err)
	}
	for _, k := range []string{k1, k2} {
		if existsAt(t, []byte(k)) {
			t.Errorf("%s survived the revoke of its lease", k)
		}
	}
	if kv := kvAt(t, []byte(k3)); kv == nil || kv.Lease != 0 {
		t.Errorf("%s, rewritten without the lease before the revoke: %+v, want it kept", k3, kv)
	}
	if existsAt(t, ks.RecordKey(lease.ID(id))) {
		t.Error("the record survived the revoke")
	}
	if left := keysUnder(t, ks.AttachPrefix(lease.ID(id))); len(left) > 0 {
		t.Errorf("attachments survived the revoke: %q", left)
	}

	// After the revoke nobody holds the lease; with the indexes past the
	// revoke it routes to etcd, which answers as for any lease it does not
	// know.
	for _, n := range []*node{a, b} {
		if _, v := n.keepAlive(id); v != NotHeld {
			t.Errorf("keepalive at %s after the revoke: verdict %v, want NotHeld", n.name, v)
		}
		n.waitIndex(rv.Header.Revision)
		if r := n.route(id); r.Kind != RouteUpstream {
			t.Errorf("route at %s after the revoke: %+v, want RouteUpstream", n.name, r)
		}
		if slices.Contains(listed(n), id) {
			t.Errorf("%s still lists lease %x after its revoke", n.name, id)
		}
	}
	if ttl := etcdTTL(t, id); ttl != -1 {
		t.Errorf("etcd's TimeToLive of the revoked lease: %d, want -1", ttl)
	}
}

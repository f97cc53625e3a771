package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
)

func exists(t *testing.T, c *clientv3.Client, key string) bool {
	t.Helper()
	resp, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count == 1
}

// TestVirtualLeaseIsHeralds checks that a lease granted through herald is
// virtual: etcd does not know it, keys carry a carrier upstream, and every
// answer through herald shows the virtual ID.
func TestVirtualLeaseIsHeralds(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	g, err := e.viaHerald.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	if g.TTL != 30 {
		t.Fatalf("granted TTL %d, want 30", g.TTL)
	}
	members, err := e.direct.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members.Members {
		if lease.Prefix(lease.ID(g.ID)) == lease.MemberPrefix(m.ID) {
			t.Fatalf("virtual lease %x has member %x's prefix: an etcd lease could collide", g.ID, m.ID)
		}
	}
	if ttl, err := e.direct.TimeToLive(ctx, g.ID); err != nil || ttl.TTL != -1 {
		t.Fatalf("etcd knows the virtual lease: ttl=%v err=%v", ttl, err)
	}

	if _, err := e.viaHerald.Put(ctx, "/svc/a", "1", clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	up, err := e.direct.Get(ctx, "/svc/a")
	if err != nil {
		t.Fatal(err)
	}
	if up.Kvs[0].Lease == int64(g.ID) || up.Kvs[0].Lease == 0 {
		t.Fatalf("upstream key has lease %x; want a carrier", up.Kvs[0].Lease)
	}
	got, err := e.viaHerald.Get(ctx, "/svc/a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Kvs[0].Lease != int64(g.ID) {
		t.Fatalf("through herald the key shows lease %x, want %x", got.Kvs[0].Lease, g.ID)
	}

	ttl, err := e.viaHerald.TimeToLive(ctx, g.ID, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL != 30 || ttl.TTL < 28 || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != "/svc/a" {
		t.Fatalf("TimeToLive = %+v", ttl)
	}
	ka, err := e.viaHerald.KeepAliveOnce(ctx, g.ID)
	if err != nil || ka.TTL != 30 {
		t.Fatalf("keepalive: %+v %v", ka, err)
	}

	leases, err := e.viaHerald.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []clientv3.LeaseID
	for _, l := range leases.Leases {
		ids = append(ids, l.ID)
	}
	if !slices.Contains(ids, g.ID) || slices.Contains(ids, clientv3.LeaseID(up.Kvs[0].Lease)) {
		t.Fatalf("Leases = %x; want the virtual lease %x and no carrier %x", ids, g.ID, up.Kvs[0].Lease)
	}

	// A txn put (as concurrency.Election does) and its prev_kv.
	tr, err := e.viaHerald.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision("/svc/b"), "=", 0)).
		Then(clientv3.OpPut("/svc/b", "2", clientv3.WithLease(g.ID))).Commit()
	if err != nil || !tr.Succeeded {
		t.Fatalf("txn: %v %v", tr, err)
	}
	pr, err := e.viaHerald.Put(ctx, "/svc/b", "3", clientv3.WithLease(g.ID), clientv3.WithPrevKV())
	if err != nil || pr.PrevKv.Lease != int64(g.ID) {
		t.Fatalf("prev_kv through herald: %+v %v", pr, err)
	}
}

// TestExpiryDeletesExactlyTheLeasesKeys lets a virtual lease expire and
// checks that its keys go, a key rewritten by another client stays, and
// other keys stay. The leases run on a manual clock: the test moves it
// past the TTL instead of sleeping.
func TestExpiryDeletesExactlyTheLeasesKeys(t *testing.T) {
	e := startEtcd(t)
	clk := clock.NewManual(time.Now())
	opts := defaultOffload()
	opts.Clock = clk
	e.startHerald(t, "herald-test", opts)
	ctx := harness.Context(t, harness.DefaultPatience)
	g, err := e.viaHerald.Grant(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := e.viaHerald.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"/x/1", "/x/2", "/x/rewritten", "/x/moved"} {
		if _, err := e.viaHerald.Put(ctx, k, "v", clientv3.WithLease(g.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.viaHerald.Put(ctx, "/x/other", "v", clientv3.WithLease(keep.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.viaHerald.Put(ctx, "/x/plain", "v"); err != nil {
		t.Fatal(err)
	}
	// Before expiry: one key is rewritten directly at etcd, one is moved to
	// another lease through herald.
	if _, err := e.direct.Put(ctx, "/x/rewritten", "theirs"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.viaHerald.Put(ctx, "/x/moved", "v", clientv3.WithLease(keep.ID)); err != nil {
		t.Fatal(err)
	}

	w := e.viaHerald.Watch(ctx, "/x/", clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithFilterPut())
	var deleted []string
	harness.AdvanceUntil(t, clk, 100*time.Millisecond, "the lease's keys to be deleted", harness.DefaultPatience,
		func() bool { return !exists(t, e.direct, "/x/1") && !exists(t, e.direct, "/x/2") })
	for len(deleted) < 2 {
		select {
		case wr := <-w:
			for _, ev := range wr.Events {
				if ev.Type != mvccpb.DELETE || ev.PrevKv.Lease != int64(g.ID) {
					t.Fatalf("event %v with prev lease %x, want DELETE of lease %x", ev.Type, ev.PrevKv.Lease, g.ID)
				}
				deleted = append(deleted, string(ev.Kv.Key))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("watch saw %v", deleted)
		}
	}
	for _, k := range []string{"/x/rewritten", "/x/moved", "/x/other", "/x/plain"} {
		if !exists(t, e.direct, k) {
			t.Errorf("%s was deleted with the expired lease", k)
		}
	}
	if _, err := e.viaHerald.Put(ctx, "/x/late", "v", clientv3.WithLease(g.ID)); !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Fatalf("put with the expired lease: %v, want %v", err, rpctypes.ErrLeaseNotFound)
	}
	if ttl, err := e.viaHerald.TimeToLive(ctx, g.ID); err != nil || ttl.TTL != -1 {
		t.Fatalf("TimeToLive of the expired lease: %+v %v, want TTL -1", ttl, err)
	}
}

// TestRevokeDeletesKeysBeforeAnswering checks revoke through herald.
func TestRevokeDeletesKeysBeforeAnswering(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	g, err := e.viaHerald.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ { // more than one delete transaction
		if _, err := e.viaHerald.Put(ctx, fmt.Sprintf("/r/%03d", i), "v", clientv3.WithLease(g.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.viaHerald.Revoke(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	resp, err := e.direct.Get(ctx, "/r/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Fatalf("after revoke %d keys remain (%v)", resp.Count, err)
	}
	if _, err := e.viaHerald.Revoke(ctx, g.ID); !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Fatalf("second revoke: %v, want %v", err, rpctypes.ErrLeaseNotFound)
	}
}

// TestReservedPrefixIsHidden checks that herald's records neither show in
// ranges and watches nor can be written.
func TestReservedPrefixIsHidden(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	g, err := e.viaHerald.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	w := e.viaHerald.Watch(ctx, "\x00", clientv3.WithFromKey())
	for _, k := range []string{"a", "b", "c"} {
		if _, err := e.viaHerald.Put(ctx, k, "v", clientv3.WithLease(g.ID)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.viaHerald.Get(ctx, "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	if all.Count != 3 || len(all.Kvs) != 3 {
		t.Fatalf("whole keyspace through herald: count %d, %d kvs; want 3", all.Count, len(all.Kvs))
	}
	direct, err := e.direct.Get(ctx, "", clientv3.WithFromKey(), clientv3.WithCountOnly())
	if err != nil || direct.Count <= 3 {
		t.Fatalf("etcd holds %d keys; herald's records should be among them", direct.Count)
	}
	limited, err := e.viaHerald.Get(ctx, "", clientv3.WithFromKey(), clientv3.WithLimit(2), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if err != nil || len(limited.Kvs) != 2 || !limited.More || limited.Count != 3 || string(limited.Kvs[0].Key) != "c" {
		t.Fatalf("limited sorted range: %+v %v", limited, err)
	}
	for i := 0; i < 3; i++ {
		select {
		case wr := <-w:
			for _, ev := range wr.Events {
				if ev.Kv.Key[0] == 0 {
					t.Fatalf("watch saw a reserved key %q", ev.Kv.Key)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event")
		}
	}
	_, err = e.viaHerald.Put(ctx, "\x00herald/leases/0000000000000001", "forged")
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("put into the reserved prefix: %v, want PermissionDenied", err)
	}
	del, err := e.viaHerald.Delete(ctx, "", clientv3.WithFromKey())
	if err != nil || del.Deleted != 3 {
		t.Fatalf("delete everything through herald: %+v %v; want 3 deleted", del, err)
	}
	if rest, err := e.direct.Get(ctx, "\x00herald/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || rest.Count == 0 {
		t.Fatalf("herald's records were deleted: %v", err)
	}
}

// TestRestartResumesLeases stops herald without revoking its clients'
// leases and starts it again under the same name: its clients' leases, with
// keys or not yet, and their keys live on (the restarted herald claims its
// old carriers back as their successor). The leases run on a manual clock,
// the same across the restart: the test moves it instead of sleeping.
func TestRestartResumesLeases(t *testing.T) {
	e := startEtcd(t)
	clk := clock.NewManual(time.Now())
	opts := defaultOffload()
	opts.Clock = clk
	e.startHerald(t, "herald-test", opts)
	ctx := harness.Context(t, harness.DefaultPatience)
	g, err := e.viaHerald.Grant(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	keyless, err := e.viaHerald.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.viaHerald.Put(ctx, "/node/1", "up", clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	e.stop()
	e.startHerald(t, "herald-test", opts)

	if ttl, err := e.viaHerald.TimeToLive(ctx, keyless.ID); err != nil || ttl.TTL <= 0 {
		t.Fatalf("a lease without keys was lost across the restart: %+v %v", ttl, err)
	}
	if _, err := e.viaHerald.Put(ctx, "/node/2", "up", clientv3.WithLease(keyless.ID)); err != nil {
		t.Fatalf("put with the restored keyless lease: %v", err)
	}

	ttl, err := e.viaHerald.TimeToLive(ctx, g.ID, clientv3.WithAttachedKeys())
	if err != nil || ttl.TTL <= 0 || len(ttl.Keys) != 1 {
		t.Fatalf("after restart: %+v %v", ttl, err)
	}
	// Keep it alive past its TTL: 8 s of its clock, a keepalive a second.
	var last time.Time
	for i := 0; i < 8; i++ {
		last = clk.Now()
		if _, err := e.viaHerald.KeepAliveOnce(ctx, g.ID); err != nil {
			t.Fatalf("keepalive %d after restart: %v", i, err)
		}
		clk.Advance(time.Second)
	}
	// A canary of 1 s, never kept alive: once its key is gone, an expiry
	// round has run past its deadline, when the lease would long have
	// expired without its keepalives, but not yet at its own deadline.
	putLeased(t, e, "/node/canary", 1)
	at := harness.AdvanceUntil(t, clk, 10*time.Millisecond, "the canary's key deleted", harness.DefaultPatience,
		func() bool { return !exists(t, e.direct, "/node/canary") })
	if deadline := last.Add(5 * time.Second); !at.Before(deadline) {
		t.Fatalf("the canary went at %v, past the kept-alive lease's own deadline %v: the test proves nothing", at.Sub(last), deadline.Sub(last))
	}
	if ttl, err := e.viaHerald.TimeToLive(ctx, g.ID); err != nil || ttl.TTL <= 0 {
		t.Fatalf("the kept-alive lease after the canary's expiry: %+v %v", ttl, err)
	}
	if !exists(t, e.direct, "/node/1") {
		t.Fatal("a kept-alive key was lost across the restart")
	}
	got, err := e.viaHerald.Get(ctx, "/node/1")
	if err != nil || got.Kvs[0].Lease != int64(g.ID) {
		t.Fatalf("after restart the key shows lease %x, want %x (%v)", got.Kvs[0].Lease, g.ID, err)
	}
}

// TestClientChosenLeaseID checks that a client-chosen ID is honoured once
// and refused the second time, as etcd does.
func TestClientChosenLeaseID(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	const id = 0x1234
	direct, err := e.direct.Grant(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	// An ID etcd itself granted cannot be taken through herald.
	if _, err := grantID(ctx, e.viaHerald, int64(direct.ID)); !errors.Is(err, rpctypes.ErrLeaseExist) {
		t.Fatalf("grant of etcd's lease id: %v, want %v", err, rpctypes.ErrLeaseExist)
	}
	if _, err := grantID(ctx, e.viaHerald, id); err != nil {
		t.Fatalf("grant of a free id: %v", err)
	}
	if _, err := grantID(ctx, e.viaHerald, id); !errors.Is(err, rpctypes.ErrLeaseExist) {
		t.Fatalf("second grant of the id: %v, want %v", err, rpctypes.ErrLeaseExist)
	}
}

// TestLeaseRevisionsAsEtcd: a grant writes the lease's record (one
// revision; etcd's own grant moves none, see docs/fleet-leases.md) and
// answers with that revision; a Put with the lease is one revision, and a
// revoke of a lease with keys is one revision, as in etcd.
func TestLeaseRevisionsAsEtcd(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	if _, err := e.viaHerald.Grant(ctx, 60); err != nil { // the first grant also starts the session and carriers
		t.Fatal(err)
	}
	before, err := e.direct.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.viaHerald.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if g.ResponseHeader.Revision != before.Header.Revision+1 {
		t.Fatalf("grant answered revision %d; etcd was at %d before it", g.ResponseHeader.Revision, before.Header.Revision)
	}
	after, err := e.direct.Get(ctx, "k")
	if err != nil || after.Header.Revision != g.ResponseHeader.Revision {
		t.Fatalf("after a grant answered at revision %d etcd is at %d", g.ResponseHeader.Revision, after.Header.Revision)
	}
	p1, err := e.viaHerald.Put(ctx, "/rv/1", "v", clientv3.WithLease(g.ID))
	if err != nil {
		t.Fatal(err)
	}
	if p1.Header.Revision != after.Header.Revision+1 {
		t.Fatalf("first put with the lease at revision %d, want %d (one revision per put)", p1.Header.Revision, after.Header.Revision+1)
	}
	if _, err := e.viaHerald.Put(ctx, "/rv/2", "v", clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	rv, err := e.viaHerald.Revoke(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Header.Revision != p1.Header.Revision+2 {
		t.Fatalf("revoke answered revision %d, want %d (both keys in one revision)", rv.Header.Revision, p1.Header.Revision+2)
	}
}

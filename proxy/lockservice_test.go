package proxy_test

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3election/v3electionpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock/v3lockpb"

	"github.com/heraldproj/herald/tests/harness"
)

// TestLockServiceWithVirtualLease uses etcd's v3lock gRPC service (as
// non-Go clients do) with a lease granted through herald: the lock is held
// while the lease lives and passes on when it is revoked.
func TestLockServiceWithVirtualLease(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	lc := v3lockpb.NewLockClient(e.viaHerald.ActiveConnection())
	first, err := e.viaHerald.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.viaHerald.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	held, err := lc.Lock(ctx, &v3lockpb.LockRequest{Name: []byte("L"), Lease: int64(first.ID)})
	if err != nil {
		t.Fatalf("lock with a virtual lease: %v", err)
	}
	type result struct {
		resp *v3lockpb.LockResponse
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := lc.Lock(ctx, &v3lockpb.LockRequest{Name: []byte("L"), Lease: int64(second.ID)})
		got <- result{resp, err}
	}()
	// The second locker queues: its key, newer than the holder's, is
	// written; from then on it may hold the lock only once the holder's key
	// is gone.
	harness.WaitUntil(t, "the second locker's key", harness.DefaultPatience, func() bool {
		resp, err := e.direct.Get(ctx, "L/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count == 2
	})
	rv, err := e.viaHerald.Revoke(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("second locker: %v", r.err)
		}
		if r.resp.Header.Revision < rv.Header.Revision {
			t.Fatalf("the second locker got the lock at revision %d, before the holder's lease was revoked (revision %d)", r.resp.Header.Revision, rv.Header.Revision)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lock did not pass on after the holder's lease was revoked")
	}
	if exists(t, e.direct, string(held.Key)) {
		t.Fatal("the first holder's lock key survived its lease")
	}
}

// TestElectionServiceWithVirtualLease campaigns through etcd's v3election
// gRPC service with a virtual lease and reads the leader back.
func TestElectionServiceWithVirtualLease(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	ec := v3electionpb.NewElectionClient(e.viaHerald.ActiveConnection())
	l, err := e.viaHerald.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ec.Campaign(ctx, &v3electionpb.CampaignRequest{Name: []byte("E"), Lease: int64(l.ID), Value: []byte("me")})
	if err != nil {
		t.Fatalf("campaign with a virtual lease: %v", err)
	}
	if c.Leader.Lease != int64(l.ID) {
		t.Fatalf("leader key lease %x, want %x", c.Leader.Lease, l.ID)
	}
	leader, err := ec.Leader(ctx, &v3electionpb.LeaderRequest{Name: []byte("E")})
	if err != nil || string(leader.Kv.Value) != "me" || leader.Kv.Lease != int64(l.ID) {
		t.Fatalf("leader: %+v %v", leader, err)
	}
}

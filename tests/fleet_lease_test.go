package tests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// fleetEndpoints lists the client URLs of the running heralds of a fleet.
func fleetEndpoints(fleet []*fleetHerald) []string {
	var eps []string
	for _, h := range fleet {
		if h.Running() {
			eps = append(eps, h.Endpoint())
		}
	}
	return eps
}

// TestFleetLeaseAnyHerald: a client that lists the three heralds of a fleet
// (clientv3 spreads its calls over them) grants, attaches, keeps alive,
// reads, lists and revokes virtual leases with etcd's answers, whichever
// herald each call lands on; a second client that reaches each herald alone
// sees the same leases.
func TestFleetLeaseAnyHerald(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, c.Endpoints())
	cli := harness.Client(t, fleetEndpoints(fleet)...)
	direct := harness.Client(t, c.Endpoints()...)

	const rounds = 30
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for i := range rounds {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		key := fmt.Sprintf("fleet-lease/%03d", i)
		g, err := cli.Grant(ctx, 30)
		if err != nil {
			fail("round %d: grant: %v", i, err)
			cancel()
			continue
		}
		if _, err := cli.Put(ctx, key, "v", clientv3.WithLease(g.ID)); err != nil {
			fail("round %d: put with the lease: %v", i, err)
		}
		if _, err := cli.KeepAliveOnce(ctx, g.ID); err != nil {
			fail("round %d: keepalive once: %v", i, err)
		}
		// Every herald alone gives the same answers.
		for _, h := range fleet {
			one := harness.Client(t, h.Endpoint())
			ttl, err := one.TimeToLive(ctx, g.ID, clientv3.WithAttachedKeys())
			if err != nil || ttl.TTL <= 0 || ttl.GrantedTTL != 30 || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != key {
				fail("round %d: TimeToLive through %s = %s, %v; want alive with [%s]", i, h.name, describeTTL(ttl), err, key)
			}
			got, err := one.Get(ctx, key)
			if err != nil || len(got.Kvs) != 1 || got.Kvs[0].Lease != int64(g.ID) {
				fail("round %d: Get through %s = %v, %v; want the key on lease %x", i, h.name, got, err, g.ID)
			}
			leases, err := one.Leases(ctx)
			if err != nil || !slices.ContainsFunc(leases.Leases, func(l clientv3.LeaseStatus) bool { return l.ID == g.ID }) {
				fail("round %d: Leases through %s does not list %x (%v)", i, h.name, g.ID, err)
			}
			one.Close()
		}
		if _, err := cli.Revoke(ctx, g.ID); err != nil {
			fail("round %d: revoke: %v", i, err)
		}
		if got, err := direct.Get(ctx, key); err != nil || len(got.Kvs) != 0 {
			fail("round %d: after the revoke etcd still has %s (%v)", i, key, err)
		}
		if _, err := cli.KeepAliveOnce(ctx, g.ID); !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			fail("round %d: keepalive of the revoked lease: %v, want %v", i, err, rpctypes.ErrLeaseNotFound)
		}
		cancel()
	}
	if len(errs) > 0 {
		t.Fatalf("%d errors in %d rounds; first ones:\n%s", len(errs), rounds, fmt.Sprint(errs[:min(len(errs), 10)]))
	}
}

// TestFleetLeaseHeraldKilled: nodes keep leased keys alive through a fleet
// of three heralds; the herald that owns every lease is killed with SIGKILL.
// The nodes that go on sending keepalives (to the other heralds) keep their
// keys; the nodes that stop with it lose theirs after about their TTL from
// the takeover.
func TestFleetLeaseHeraldKilled(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, c.Endpoints())
	owner := fleet[0]
	direct := harness.Client(t, c.Endpoints()...)
	const nodes, ttl = 40, 6
	grantVia := harness.Client(t, owner.Endpoint())
	type node struct {
		id      clientv3.LeaseID
		key     string
		survive bool
	}
	var ns []node
	ctx := ctxT(t)
	for i := range nodes {
		g, err := grantVia.Grant(ctx, ttl)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("failover/%03d", i)
		if _, err := grantVia.Put(ctx, k, "up", clientv3.WithLease(g.ID)); err != nil {
			t.Fatal(err)
		}
		ns = append(ns, node{id: g.ID, key: k, survive: i%2 == 0})
	}
	// The surviving half keeps alive through all three heralds.
	keeper := harness.Client(t, fleetEndpoints(fleet)...)
	kctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	lost := make(chan clientv3.LeaseID, nodes)
	for _, n := range ns {
		if !n.survive {
			continue
		}
		ch, err := keeper.KeepAlive(kctx, n.id)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
			}
			if kctx.Err() == nil {
				lost <- n.id
			}
		}()
	}
	defer wg.Wait()
	defer stop()
	time.Sleep(time.Second)
	owner.Kill()
	killed := time.Now()

	deadline := killed.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		gone := 0
		for _, n := range ns {
			got, err := direct.Get(ctx, n.key)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Kvs) == 0 {
				if n.survive {
					t.Fatalf("%s lost its key %v after the kill, although its keepalives went on", n.key, time.Since(killed))
				}
				gone++
			}
		}
		if gone == nodes/2 {
			t.Logf("the %d stopped nodes' keys were gone %v after the kill", gone, time.Since(killed))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case id := <-lost:
		t.Fatalf("the keepalive channel of surviving lease %x closed: the client lost its lease", id)
	default:
	}
	for _, n := range ns {
		got, err := direct.Get(ctx, n.key)
		if err != nil {
			t.Fatal(err)
		}
		if n.survive != (len(got.Kvs) == 1) {
			t.Errorf("%s: present=%v, want %v", n.key, len(got.Kvs) == 1, n.survive)
		}
	}
}

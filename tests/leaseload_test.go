package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

// leaseLoadPatience bounds each wait of these tests; a hang becomes a
// failure, it is not a threshold.
const leaseLoadPatience = 60 * time.Second

// TestLeaseLoadDirect validates the lease workload against one etcd reached
// directly: with nothing failing, no error and no key lost, and the keys of
// stopped nodes go. HERALD_LONG=1 runs 1000 nodes instead of 200.
func TestLeaseLoadDirect(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	selfCheckLeaseLoad(t, c, c.Endpoints(), c.Endpoints(), 5, true)
}

// TestLeaseLoadGRPCProxy: the same through etcd's grpc-proxy listed with
// etcd itself ([proxy, etcd], as a client lists [herald, etcd]), the watch
// through the proxy, without stopping nodes. grpc-proxy answers a client's
// keepalive only with its own next upstream keepalive, up to TTL/3 + 0.5 s
// later, and clientv3 gives a lease up a TTL after the last answer: at TTL
// 4, three runs in about forty saw nodes' keepalive channels close through
// the proxy on this machine; at TTL 10 none did. grpc-proxy also renews a
// lease for up to a TTL after its client's last keepalive, so a stopped
// node's key takes up to two TTLs to go: the proxied watch is checked on
// the DELETEs of the final revokes instead.
func TestLeaseLoadGRPCProxy(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	p := harness.StartGRPCProxy(t, c.Endpoints())
	selfCheckLeaseLoad(t, c, []string{p.Endpoint(), c.Endpoints()[0]}, []string{p.Endpoint()}, 10, false)
}

func selfCheckLeaseLoad(t *testing.T, c *harness.EtcdCluster, endpoints, watch []string, ttl int64, stopSome bool) {
	nodes, stop := 200, 20
	if longRun() {
		nodes, stop = 1000, 100
	}
	if !stopSome {
		stop = 0
	}
	admin := harness.Client(t, c.Endpoints()...)
	ctx, cancel := context.WithTimeout(context.Background(), leaseLoadPatience)
	defer cancel()
	start := time.Now()
	ll := StartLeaseLoad(t, LeaseLoad{Endpoints: endpoints, WatchEndpoints: watch, Prefix: "/services/ll/", Nodes: nodes, TTL: ttl})
	t.Logf("%d nodes started in %v", nodes, time.Since(start).Round(time.Millisecond))
	if got := len(ll.Live()); got != nodes {
		t.Fatalf("%d live nodes after the start, want %d:\n%s", got, nodes, ll.Report().Check())
	}
	// The first response comes at once, the second a third of the TTL
	// later: then keepalives flow.
	harness.WaitUntil(t, "two keepalive responses for every node", leaseLoadPatience, func() bool {
		for i := range nodes {
			if ll.KeepAlives(i) < 2 {
				return false
			}
		}
		return true
	})
	ll.CheckAlive(ctx)
	if err := ll.VerifyKeys(ctx, admin, true); err != nil {
		t.Fatal(err)
	}
	ref, err := ll.RunOpMix(ctx, admin, ll.Live()[:50])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("op mix, as etcd answers it:\n\t%s", strings.Join(ref, "\n\t"))

	if stop > 0 {
		var victims []int
		for i := 0; i < nodes; i += nodes / stop {
			victims = append(victims, i)
		}
		stopped := ll.Stop(victims...)
		if len(stopped) != stop {
			t.Fatalf("stopped %d nodes, want %d (the others were not live):\n%s", len(stopped), stop, ll.Report().Check())
		}
		ll.WaitGone(t, stopped, leaseLoadPatience)
		ll.CheckAlive(ctx)
		if err := ll.VerifyKeys(ctx, admin, true); err != nil {
			t.Fatal(err)
		}
	}
	ll.RevokeAll(ctx)
	all := make([]int, nodes)
	for i := range all {
		all[i] = i
	}
	ll.WaitGone(t, all, leaseLoadPatience) // the watch saw every DELETE

	r := ll.Report()
	if stop > 0 {
		t.Logf("TTL %ds: %s", ttl, r.ExpirySummary())
	}
	if msg := r.Check(); msg != "" {
		t.Error(msg)
	}
	if r.Stopped != stop || r.Ended != nodes-stop || r.Live != 0 || r.Failed != 0 {
		t.Errorf("%s; want %d stopped, the others ended", r.counts(), stop)
	}
}

// TestLeaseLoadCatchesLostKeys: the workload's control. A live node's key
// deleted behind its back is a key lost; a live node's lease revoked behind
// its back is a keepalive failure.
func TestLeaseLoadCatchesLostKeys(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	admin := harness.Client(t, c.Endpoints()...)
	ll := StartLeaseLoad(t, LeaseLoad{Endpoints: c.Endpoints(), Prefix: "/services/lost/", Nodes: 10, NodesPerClient: 5})
	if r := ll.Report(); r.Check() != "" || r.Live != 10 {
		t.Fatalf("before any fault: %s, %s", r.counts(), r.Check())
	}
	if _, err := admin.Delete(ctxT(t), ll.Key(3)); err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, "node 3's key reported lost", leaseLoadPatience, func() bool { return len(ll.Report().KeysLost) == 1 })
	if _, err := admin.Revoke(ctxT(t), ll.Lease(5)); err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, "node 5's keepalive failure", leaseLoadPatience, func() bool { return ll.Report().Errors["keepalive"] == 1 })
	r := ll.Report()
	t.Logf("reported as it should be:\n%s", r.Check())
	if len(r.KeysLost) != 1 || r.ErrorCount() != 1 || r.Failed != 1 || r.Live != 9 {
		t.Errorf("%s, %d keys lost, errors %v; want node 3's key lost and node 5 failed", r.counts(), len(r.KeysLost), r.Errors)
	}
	// VerifyKeys sees the absence too (the watch already did).
	if err := ll.VerifyKeys(ctxT(t), admin, true); err != nil {
		t.Fatal(err)
	}
	if got := len(ll.Report().KeysLost); got != 1 {
		t.Errorf("%d keys lost after VerifyKeys, want still 1", got)
	}
}

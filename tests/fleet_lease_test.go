package tests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

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

// fleetPatience bounds each wait of the fleet lease tests: a hang becomes a
// failure, it is not a threshold.
const fleetLeasePatience = 90 * time.Second

// waitKeepAlives waits until every node of ll has had two keepalive answers:
// renewals flow.
func waitKeepAlives(t *testing.T, ll *LeaseLoadRun, nodes int) {
	t.Helper()
	harness.WaitUntil(t, "two keepalive answers for every node", fleetLeasePatience, func() bool {
		for i := range nodes {
			if ll.KeepAlives(i) < 2 {
				return false
			}
		}
		return true
	})
}

// TestFleetLeaseWorkload: nodes whose clients list the three heralds of a
// fleet hold leased keys; every lease call (grant, put, keepalive,
// timetolive with keys, leases, revoke) answers as etcd's, the keys show
// their virtual lease through every herald, the stopped nodes' keys go and
// no live node loses one.
func TestFleetLeaseWorkload(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, c.Endpoints())
	admin := harness.Client(t, c.Endpoints()...)
	nodes, stop := 150, 15
	if longRun() {
		nodes, stop = 1500, 150
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*fleetLeasePatience)
	defer cancel()
	ll := StartLeaseLoad(t, LeaseLoad{Endpoints: fleetEndpoints(fleet), WatchEndpoints: c.Endpoints(), Prefix: "/services/fleet/", Nodes: nodes, TTL: 5})
	waitKeepAlives(t, ll, nodes)
	ll.CheckAlive(ctx)
	if err := ll.VerifyKeys(ctx, admin, false); err != nil {
		t.Fatal(err)
	}
	for _, h := range fleet {
		if err := ll.VerifyKeys(ctx, harness.Client(t, h.Endpoint()), true); err != nil {
			t.Fatalf("through %s: %v", h.name, err)
		}
	}
	// The op mix through the fleet, compared step by step with etcd's own.
	if _, err := ll.RunOpMix(ctx, admin, ll.Live()[:30]); err != nil {
		t.Fatal(err)
	}
	var victims []int
	for i := 0; i < nodes; i += nodes / stop {
		victims = append(victims, i)
	}
	ll.WaitGone(t, ll.Stop(victims...), fleetLeasePatience)
	ll.CheckAlive(ctx)
	ll.RevokeAll(ctx)
	all := make([]int, nodes)
	for i := range all {
		all[i] = i
	}
	ll.WaitGone(t, all, fleetLeasePatience)
	r := ll.Report()
	t.Logf("stopped nodes, TTL 5 s: %s", r.ExpirySummary())
	if msg := r.Check(); msg != "" {
		t.Error(msg)
	}
}

// TestFleetLeaseLocks: concurrency.Mutex, Election and STM, and etcdctl
// lock and elect, with clients that list the three heralds: no two holders
// at once (checked on the recorded history) and no error.
func TestFleetLeaseLocks(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, c.Endpoints())
	eps := fleetEndpoints(fleet)
	ctx, cancel := context.WithTimeout(context.Background(), 3*fleetLeasePatience)
	defer cancel()
	for _, kind := range []LockKind{MutexLock, ElectionLock} {
		const holders, rounds = 5, 10
		res, err := RunLockLoad(ctx, LockLoad{Kind: kind, Endpoints: eps, Name: "/locks/fleet-" + kind.String(), Holders: holders, Rounds: rounds})
		if err != nil {
			t.Fatal(err)
		}
		if msg := res.Check(); msg != "" {
			t.Errorf("%s through the fleet:\n%s", kind, msg)
		}
		if res.Acquired != holders*rounds {
			t.Errorf("%s: %d holds, want %d", kind, res.Acquired, holders*rounds)
		}
	}
	for _, kind := range []LockKind{MutexLock, ElectionLock} {
		const holders, rounds = 3, 3
		res := RunEtcdctlLockLoad(t, EtcdctlLockLoad{Kind: kind, Endpoints: eps, Name: "ctl-fleet-" + kind.String(), Holders: holders, Rounds: rounds})
		if msg := res.Check(); msg != "" {
			t.Errorf("etcdctl %s through the fleet:\n%s", kind, msg)
		}
		if res.Acquired != holders*rounds {
			t.Errorf("etcdctl %s: %d holds, want %d", kind, res.Acquired, holders*rounds)
		}
	}
	testFleetSTM(t, ctx, eps)
}

// testFleetSTM: serializable STM increments of one counter by several
// clients of the fleet sum up exactly.
func testFleetSTM(t *testing.T, ctx context.Context, eps []string) {
	const clients, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for range clients {
		cli := harness.Client(t, eps...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
					var n int
					fmt.Sscan(s.Get("/stm/counter"), &n)
					s.Put("/stm/counter", fmt.Sprint(n+1))
					return nil
				}, concurrency.WithAbortContext(ctx))
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("STM: %v", err)
	}
	got, err := harness.Client(t, eps...).Get(ctx, "/stm/counter")
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != fmt.Sprint(clients*each) {
		t.Errorf("STM counter = %v, %v; want %d", got, err, clients*each)
	}
}

// TestFleetLeaseHeraldKilled: nodes whose clients list the three heralds
// of a fleet hold leased keys (each lease owned by the herald its grant
// landed on); one herald is killed with SIGKILL, and half of the nodes, on
// clients of their own, die with it. The nodes that go on (their clients
// fail over to the other heralds) lose no key and no lease; the dead ones'
// keys go about a TTL after the takeover. HERALD_LONG=1 runs 3000 nodes
// (about 1000 owned by the killed herald).
func TestFleetLeaseHeraldKilled(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, c.Endpoints())
	admin := harness.Client(t, c.Endpoints()...)
	nodes, perClient := 300, 10
	if longRun() {
		nodes, perClient = 3000, 50
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*fleetLeasePatience)
	defer cancel()
	ll := StartLeaseLoad(t, LeaseLoad{Endpoints: fleetEndpoints(fleet), WatchEndpoints: c.Endpoints(), Prefix: "/services/kill/",
		Nodes: nodes, NodesPerClient: perClient, TTL: 5})
	waitKeepAlives(t, ll, nodes)
	// Every other client is a node host in the dying rack.
	var dying []int
	for i := range nodes {
		if (i/perClient)%2 == 1 {
			dying = append(dying, i)
		}
	}
	victim := fleet[0]
	owned, _ := metricValue(victim.MetricsURL()+"/metrics", "herald_lease_virtual_leases")
	victim.Kill()
	killed := time.Now()
	stopped := ll.Stop(dying...)
	t.Logf("killed %s, which owned %v of the %d leases; %d nodes died with it", victim.name, owned, nodes, len(stopped))
	ll.WaitGone(t, stopped, fleetLeasePatience)
	t.Logf("the dead nodes' keys went (TTL 5 s): %s; the last %v after the kill", ll.Report().ExpirySummary(), time.Since(killed).Round(time.Millisecond))
	// The survivors kept their leases and keys through it: check once more
	// after a further TTL.
	time.Sleep(5 * time.Second)
	ll.CheckAlive(ctx)
	if err := ll.VerifyKeys(ctx, admin, false); err != nil {
		t.Fatal(err)
	}
	var takeovers float64
	for _, h := range fleet[1:] {
		v, _ := metricValue(h.MetricsURL()+"/metrics", "herald_lease_takeovers_total")
		takeovers += v
	}
	if takeovers == 0 {
		t.Errorf("no herald took over a carrier of the killed one")
	}
	r := ll.Report()
	if msg := r.Check(); msg != "" {
		t.Errorf("survivors of the kill: %s\nfirst errors: %q", msg, r.ErrorSamples)
	}
	if r.Live != nodes-len(stopped) {
		t.Errorf("%d live nodes, want %d", r.Live, nodes-len(stopped))
	}
}

// TestFleetLeaseRelay: each herald of a fleet reaches etcd through a TCP
// proxy of its own; the one in front of the first herald is cut (a network
// partition: connections hang). The first herald's nodes keep their leases
// and keys, and their writes through it keep going: it relays through its
// peers. When the cut heals, it goes direct again.
func TestFleetLeaseRelay(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	var proxies []*harness.TCPProxy
	for range 3 {
		proxies = append(proxies, harness.StartTCPProxy(t, c.Endpoints()[0]))
	}
	fleet := startFleetWith(t, 3, func(i int) []string { return []string{proxies[i].URL()} })
	admin := harness.Client(t, c.Endpoints()...)
	const nodes = 60
	ctx, cancel := context.WithTimeout(context.Background(), 3*fleetLeasePatience)
	defer cancel()
	cut := fleet[0]
	ll := StartLeaseLoad(t, LeaseLoad{Endpoints: []string{cut.Endpoint()}, WatchEndpoints: c.Endpoints(), Prefix: "/services/relay/",
		Nodes: nodes, TTL: 5})
	waitKeepAlives(t, ll, nodes)
	writer := harness.Client(t, cut.Endpoint())

	proxies[0].Cut()
	harness.WaitUntil(t, "the cut herald relaying", fleetLeasePatience, func() bool {
		v, ok := metricValue(cut.MetricsURL()+"/metrics", "herald_relay_relaying")
		return ok && v == 1
	})
	// Two TTLs through the cut: the nodes' keepalives keep being answered.
	for i := range 10 {
		if _, err := writer.Put(ctx, fmt.Sprintf("/relay/write/%d", i), "v"); err != nil {
			t.Errorf("a write through the cut herald: %v", err)
		}
		time.Sleep(time.Second)
	}
	before := make([]int, nodes)
	for i := range nodes {
		before[i] = ll.KeepAlives(i)
	}
	harness.WaitUntil(t, "keepalives answered during the cut", fleetLeasePatience, func() bool {
		for i := range nodes {
			if ll.KeepAlives(i) <= before[i] {
				return false
			}
		}
		return true
	})
	ll.CheckAlive(ctx)
	if err := ll.VerifyKeys(ctx, admin, false); err != nil {
		t.Fatal(err)
	}
	proxies[0].Restore()
	harness.WaitUntil(t, "the herald direct again", fleetLeasePatience, func() bool {
		v, ok := metricValue(cut.MetricsURL()+"/metrics", "herald_relay_relaying")
		return ok && v == 0
	})
	if msg := ll.Report().Check(); msg != "" {
		t.Error(msg)
	}
}

// TestMixedEndpointsWithoutOffload: a client may list a herald and etcd
// together when the herald holds no leases (--lease-offload=false): its
// leases are etcd's, and every call works wherever it lands, as through etcd
// grpc-proxy. (With lease offloading, mixing is not supported: see README.)
func TestMixedEndpointsWithoutOffload(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: c.Endpoints(), ExtraArgs: []string{"--lease-offload=false"}})
	eps := []string{h.Endpoint(), c.Endpoints()[0]}
	admin := harness.Client(t, c.Endpoints()...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*fleetLeasePatience)
	defer cancel()
	ll := StartLeaseLoad(t, LeaseLoad{Endpoints: eps, WatchEndpoints: c.Endpoints(), Prefix: "/services/mixed/", Nodes: 60, TTL: 5})
	waitKeepAlives(t, ll, 60)
	ll.CheckAlive(ctx)
	if _, err := ll.RunOpMix(ctx, admin, ll.Live()[:20]); err != nil {
		t.Fatal(err)
	}
	res, err := RunLockLoad(ctx, LockLoad{Kind: MutexLock, Endpoints: eps, Name: "/locks/mixed", Holders: 4, Rounds: 8})
	if err != nil {
		t.Fatal(err)
	}
	if msg := res.Check(); msg != "" {
		t.Error(msg)
	}
	ll.RevokeAll(ctx)
	if msg := ll.Report().Check(); msg != "" {
		t.Error(msg)
	}
}

// TestFleetEventsShowVirtualLeases: keys put with virtual leases through
// one herald are seen through every herald — in watch events of fan-out
// and forwarded watches, their prev_kv, Range, RangeStream and Txn answers —
// with the virtual lease, never a carrier, however fast the events follow
// the writes.
func TestFleetEventsShowVirtualLeases(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, c.Endpoints())
	ctx, cancel := context.WithTimeout(context.Background(), fleetLeasePatience)
	defer cancel()
	type seen struct {
		where string
		key   string
		lease int64
	}
	var (
		mu   sync.Mutex
		got  []seen
		wg   sync.WaitGroup
		wctx context.Context
	)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	for _, h := range fleet {
		cli := harness.Client(t, h.Endpoint())
		for _, prefix := range []string{fanoutPrefix + "ev/", "/plain/ev/"} {
			wch := cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithCreatedNotify())
			<-wch // created
			wg.Add(1)
			go func() {
				defer wg.Done()
				for resp := range wch {
					mu.Lock()
					for _, ev := range resp.Events {
						got = append(got, seen{h.name + " watch " + prefix, string(ev.Kv.Key), ev.Kv.Lease})
						if ev.PrevKv != nil {
							got = append(got, seen{h.name + " prev_kv " + prefix, string(ev.PrevKv.Key), ev.PrevKv.Lease})
						}
					}
					mu.Unlock()
				}
			}()
		}
	}
	writer := harness.Client(t, fleet[0].Endpoint())
	granted := map[int64]bool{0: true}
	const rounds = 40
	for i := range rounds {
		g, err := writer.Grant(ctx, 60)
		if err != nil {
			t.Fatal(err)
		}
		granted[int64(g.ID)] = true
		for _, prefix := range []string{fanoutPrefix + "ev/", "/plain/ev/"} {
			k := fmt.Sprintf("%s%03d", prefix, i)
			if _, err := writer.Put(ctx, k, "a", clientv3.WithLease(g.ID)); err != nil {
				t.Fatal(err)
			}
			if _, err := writer.Put(ctx, k, "b", clientv3.WithIgnoreLease()); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if _, err := writer.Delete(ctx, k, clientv3.WithPrevKV()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, h := range fleet {
		cli := harness.Client(t, h.Endpoint())
		for _, prefix := range []string{fanoutPrefix + "ev/", "/plain/ev/"} {
			for _, opts := range [][]clientv3.OpOption{{clientv3.WithPrefix()}, {clientv3.WithPrefix(), clientv3.WithSerializable()}} {
				resp, err := cli.Get(ctx, prefix, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Kvs) != rounds/2 {
					t.Errorf("Get %s through %s: %d keys, want %d", prefix, h.name, len(resp.Kvs), rounds/2)
				}
				for _, kv := range resp.Kvs {
					mu.Lock()
					got = append(got, seen{h.name + " get " + prefix, string(kv.Key), kv.Lease})
					mu.Unlock()
				}
			}
			txn, err := cli.Txn(ctx).Then(clientv3.OpGet(prefix, clientv3.WithPrefix())).Commit()
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range txn.Responses[0].GetResponseRange().Kvs {
				got = append(got, seen{h.name + " txn " + prefix, string(kv.Key), kv.Lease})
			}
		}
	}
	// Every event reached every watcher: 2 puts and, for half, a delete,
	// per key and prefix, on 3 heralds.
	want := 3 * 2 * (rounds*2 + rounds/2)
	harness.WaitUntil(t, "every event at every watcher", fleetLeasePatience, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range got {
			if strings.Contains(s.where, " watch ") {
				n++
			}
		}
		return n >= want
	})
	stopWatch()
	wg.Wait()
	bad := 0
	for _, s := range got {
		if !granted[s.lease] {
			bad++
			if bad <= 10 {
				t.Errorf("%s: %s shows lease %x, not one the client was granted (a carrier?)", s.where, s.key, s.lease)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d key-values showed a lease the client never had", bad, len(got))
	}
}

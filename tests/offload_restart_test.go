package tests

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/heraldproj/herald/tests/harness"
)

// keepAliveNode is one service node: its own client of herald, a lease with
// a key, and clientv3's KeepAlive running. When clientv3 gives a keepalive
// up (no answer within the TTL while herald is down), the node starts it
// again on the same lease, as a node that wants to keep its registration
// does; it never grants a new lease or re-puts its key.
type keepAliveNode struct {
	cli       *clientv3.Client
	id        clientv3.LeaseID
	key       string
	responses atomic.Int64
	restarts  atomic.Int64
}

func (n *keepAliveNode) keepAlive(ctx context.Context) {
	for ctx.Err() == nil {
		ch, err := n.cli.KeepAlive(ctx, n.id)
		if err == nil {
			for range ch {
				n.responses.Add(1)
			}
		}
		if ctx.Err() != nil {
			return
		}
		n.restarts.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// reconnectingClient is a client of endpoint that redials promptly after the
// server comes back (gRPC's default backoff grows to minutes; a node that
// must keep a 3 s lease alive across a proxy restart dials more eagerly).
func reconnectingClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: 2 * time.Second,
		})},
	})
	if err != nil {
		t.Fatalf("clientv3.New(%s): %v", endpoint, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// TestOffloadRestartKeepsLeases: 50 nodes keep 3 s leases alive through
// herald (their only endpoint), each with a key; herald is killed with
// SIGKILL and started again (same --name, data dir and port), at once or
// after staying down longer than the leases' TTL (but less than the
// carriers'). After longer than the carrier TTL every key is still at etcd
// and every lease alive through herald; once the nodes stop their
// keepalives, every key goes. KeylessLeases: leases kept alive that have no
// key yet (granted to be used later, as a concurrency.Session's lease is
// until it locks or campaigns) survive the restart too, as they survive an
// etcd restart.
func TestOffloadRestartKeepsLeases(t *testing.T) {
	skipIfShort(t)
	if via := os.Getenv(viaEnv); via != "" && via != "herald" {
		t.Skipf("kills and restarts herald; %s=%s", viaEnv, via)
	}
	t.Parallel()
	t.Run("AtOnce", func(t *testing.T) { t.Parallel(); testRestartKeepsLeases(t, 0) })
	// README: "each restored lease gets a full TTL from the restart".
	t.Run("DownLongerThanLeaseTTL", func(t *testing.T) { t.Parallel(); testRestartKeepsLeases(t, 5*time.Second) })
	t.Run("KeylessLeases", func(t *testing.T) { t.Parallel(); testRestartKeepsKeylessLeases(t) })
}

// startRestartable starts an etcd and a herald with the given carrier TTL.
func startRestartable(t *testing.T, carrierTTL int) (*harness.EtcdCluster, *harness.Herald) {
	t.Helper()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	h := harness.StartHerald(t, harness.HeraldOptions{
		Endpoints: c.Endpoints(),
		ExtraArgs: []string{"--carrier-ttl", fmt.Sprint(carrierTTL)},
	})
	return c, h
}

// startNodes grants each node a lease of ttl seconds through endpoint,
// puts its key when it has one, and keeps the lease alive until ctx ends;
// it returns when every node's keepalive has been answered twice.
func startNodes(t *testing.T, ctx context.Context, wg *sync.WaitGroup, endpoint string, keys []string, ttl int64) []*keepAliveNode {
	t.Helper()
	ns := make([]*keepAliveNode, len(keys))
	for i, key := range keys {
		n := &keepAliveNode{cli: reconnectingClient(t, endpoint), key: key}
		g, err := n.cli.Grant(ctxT(t), ttl)
		if err != nil {
			t.Fatalf("node %d: Grant: %v", i, err)
		}
		n.id = g.ID
		if key != "" {
			mustPut(t, n.cli, n.key, "up", clientv3.WithLease(n.id))
		}
		ns[i] = n
		wg.Add(1)
		go func() { defer wg.Done(); n.keepAlive(ctx) }()
	}
	offloadEventually(t, "every node's keepalive answered", func() (bool, string) {
		for i, n := range ns {
			if n.responses.Load() < 2 {
				return false, fmt.Sprintf("node %d: %d answers", i, n.responses.Load())
			}
		}
		return true, ""
	})
	return ns
}

func testRestartKeepsKeylessLeases(t *testing.T) {
	const nodes, ttl, carrierTTL = 5, 3, 15
	_, h := startRestartable(t, carrierTTL)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	ns := startNodes(t, ctx, &wg, h.Endpoint(), make([]string, nodes), ttl)

	h.Kill()
	h.Restart()
	restarted := time.Now()
	time.Sleep(time.Until(restarted.Add(2*ttl*time.Second + time.Second)))

	checker := reconnectingClient(t, h.Endpoint())
	var lost []string
	for i, n := range ns {
		r, err := checker.TimeToLive(ctxT(t), n.id)
		if err != nil || r.TTL < 0 {
			lost = append(lost, fmt.Sprintf("node %d lease %x: TimeToLive %s, err %v (clientv3 keepalive restarted %d times)", i, n.id, describeTTL(r), err, n.restarts.Load()))
		}
		key := fmt.Sprintf("offload/keyless/%d", i)
		if _, err := n.cli.Put(ctxT(t), key, "up", clientv3.WithLease(n.id)); err != nil {
			lost = append(lost, fmt.Sprintf("node %d: Put %s with lease %x: %v", i, key, n.id, err))
		}
	}
	if len(lost) > 0 {
		t.Errorf("leases kept alive without a key, lost across a herald restart (etcd keeps them across its own restart):\n%s", strings.Join(lost, "\n"))
	}
}

func testRestartKeepsLeases(t *testing.T, down time.Duration) {
	const nodes, ttl, carrierTTL, p = 50, 3, 15, "offload/restart/"
	c, h := startRestartable(t, carrierTTL)
	direct := harness.Client(t, c.Endpoints()...)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	keys := make([]string, nodes)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%02d", p, i)
	}
	ns := startNodes(t, ctx, &wg, h.Endpoint(), keys, ttl)
	carriersBefore := map[int64]bool{}
	for _, kv := range mustGet(t, direct, p, clientv3.WithPrefix()).Kvs {
		carriersBefore[kv.Lease] = true
	}

	h.Kill()
	killed := time.Now()
	time.Sleep(down)
	h.Restart()
	restarted := time.Now()
	t.Logf("herald killed, down %v, healthy again after %v", down, restarted.Sub(killed).Round(time.Millisecond))
	// Past the carriers' TTL since the kill (a carrier that was not
	// resumed would have expired and taken the keys), and past two
	// lease TTLs since the restart (a lease that was not resumed, or
	// whose keepalives no longer arrive, would have expired).
	time.Sleep(time.Until(killed.Add((carrierTTL + ttl) * time.Second)))
	if d := time.Until(restarted.Add(2*ttl*time.Second + time.Second)); d > 0 {
		time.Sleep(d)
	}

	checker := reconnectingClient(t, h.Endpoint())
	atEtcd := mustGet(t, direct, p, clientv3.WithPrefix())
	carriersAfter := map[int64]bool{}
	for _, kv := range atEtcd.Kvs {
		carriersAfter[kv.Lease] = true
	}
	if len(atEtcd.Kvs) != nodes {
		t.Errorf("at etcd after the restart: %d of %d keys (%q)", len(atEtcd.Kvs), nodes, keysOf(atEtcd.Kvs))
	}
	var lost []string
	var restarts int64
	for i, n := range ns {
		restarts += n.restarts.Load()
		r, err := checker.TimeToLive(ctxT(t), n.id)
		if err != nil || r.TTL < 0 { // 0: alive, less than a second left
			lost = append(lost, fmt.Sprintf("node %d lease %x: TimeToLive %s, err %v (clientv3 keepalive restarted %d times)", i, n.id, describeTTL(r), err, n.restarts.Load()))
			continue
		}
		if got := mustGet(t, checker, n.key); len(got.Kvs) != 1 || got.Kvs[0].Lease != int64(n.id) {
			lost = append(lost, fmt.Sprintf("node %d: %s through herald = %v, want lease %x", i, n.key, got.Kvs, n.id))
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d leases lost across the restart:\n%s", len(lost), nodes, strings.Join(lost, "\n"))
	}
	t.Logf("carriers at etcd before the kill %v, after %v; clientv3 keepalives restarted %d times in all", carriersBefore, carriersAfter, restarts)

	// The nodes stop: their leases expire and herald deletes every key.
	stop()
	wg.Wait()
	for _, n := range ns {
		n.cli.Close()
	}
	stopped := time.Now()
	offloadEventually(t, "every key deleted at etcd after the nodes stopped", func() (bool, string) {
		resp := mustGet(t, direct, p, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		return len(resp.Kvs) == 0, fmt.Sprintf("%d keys left", len(resp.Kvs))
	})
	t.Logf("all keys deleted %v after the keepalives stopped (TTL %d s)", time.Since(stopped).Round(100*time.Millisecond), ttl)
	for i, n := range ns {
		if r, err := checker.TimeToLive(ctxT(t), n.id); err != nil || r.TTL != -1 {
			t.Errorf("node %d lease %x after the nodes stopped: %s, err %v; want TTL -1", i, n.id, describeTTL(r), err)
		}
	}
}

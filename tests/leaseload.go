package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// A lease workload: N nodes, each holding one lease kept alive by clientv3's
// KeepAlive and one key <Prefix><node> put with it, as service nodes register
// themselves. The nodes are multiplexed over a few clientv3 clients
// (NodesPerClient each) so that a thousand fit on a small machine; the
// clients dial Endpoints (several heralds, or [herald, etcd]), or per client
// EndpointsFor. A watch on the prefix through WatchEndpoints records every
// DELETE, so the workload knows when each key disappeared. A fleet test:
//
//	ll := StartLeaseLoad(t, LeaseLoad{Endpoints: heraldEndpoints, WatchEndpoints: etcd.Endpoints(),
//		Prefix: "/services/a/", Nodes: 1000, TTL: 5})
//	... // kill, pause or cut heralds
//	stopped := ll.Stop(0, 1, 2)            // three nodes die
//	ll.WaitGone(t, stopped, time.Minute)   // their keys go (within about TTL)
//	ll.CheckAlive(ctx)                     // every other lease is alive, with its key
//	ll.VerifyKeys(ctx, etcdClient, false)  // and every other key is there
//	r := ll.Report()
//	if msg := r.Check(); msg != "" { t.Error(msg) } // zero errors, zero keys lost
//	t.Log(r.ExpirySummary())               // figures, never asserted
//
// Every operation's error is recorded against its node: grant, put, the
// keepalive channel closing by itself (clientv3 closes it when the lease
// expired or no answer came within the TTL), timetolive, leases, revoke and
// the steps of the op mix (leaseload_ops.go). A key is lost when it was
// deleted (a DELETE seen by the watch) or found absent (VerifyKeys) while its
// node was live: its keepalives never stopped (Stop) or ended (RevokeAll) and
// never failed. Report gathers all of it.

// LeaseLoad configures StartLeaseLoad. Endpoints (or EndpointsFor), Prefix
// and Nodes are required.
type LeaseLoad struct {
	// Endpoints is what every client dials (clientv3 spreads its calls
	// over all of them).
	Endpoints []string
	// EndpointsFor, when set, gives client c its own endpoints instead;
	// node i uses client i / NodesPerClient.
	EndpointsFor func(client int) []string
	// WatchEndpoints is what the DELETE observer dials (default:
	// Endpoints, or client 0's). etcd itself is the ground truth; through a
	// herald it also tests herald's watch.
	WatchEndpoints []string
	// Prefix is the nodes' key prefix; node i's key is Prefix + NodeName(i).
	Prefix string
	Nodes  int
	// TTL is each lease's TTL in seconds (default 5).
	TTL int64
	// NodesPerClient is how many nodes share a clientv3 client (default 20).
	NodesPerClient int
	// Parallel bounds the concurrent calls when starting, checking and
	// revoking (default 32).
	Parallel int
	// OpTimeout bounds each call (default 10 s); one that takes longer
	// counts as an error of its node.
	OpTimeout time.Duration
	// DialKeepAlive is the clients' gRPC keepalive (default none, as
	// clientv3's): set it for nodes to leave a paused or cut endpoint.
	DialKeepAlive DialKeepAlive
}

// Defaults of LeaseLoad.
const (
	defaultLeaseTTL       = 5
	defaultNodesPerClient = 20
	defaultLeaseParallel  = 32
	defaultLeaseOpTimeout = 10 * time.Second
)

// NodeName is the name of node i: its key is Prefix + NodeName(i).
func NodeName(i int) string { return fmt.Sprintf("n%05d", i) }

// LeaseLoadRun is a running lease workload. Its methods are safe for
// concurrent use.
type LeaseLoadRun struct {
	cfg     LeaseLoad
	clients []*clientv3.Client
	watcher *deleteWatcher
	nodes   []*leaseNode
	byKey   map[string]*leaseNode

	ctx    context.Context // ends the keepalives and the watch
	cancel context.CancelFunc
	wg     sync.WaitGroup // keepalive consumers

	mu sync.Mutex // guards every leaseNode's mutable fields
}

// leaseNode is one node; its mutable fields are guarded by LeaseLoadRun.mu.
type leaseNode struct {
	idx int
	key string
	cli *clientv3.Client

	lease      clientv3.LeaseID
	grantedTTL int64
	live       bool // granted and put; keepalives running, not stopped, ended or failed
	stopKA     context.CancelFunc
	keepAlives int
	lastKA     time.Time // last keepalive response
	stoppedAt  time.Time // Stop
	endedAt    time.Time // RevokeAll
	failedAt   time.Time // the keepalive channel closed by itself
	deletedAt  time.Time // first DELETE of the key seen by the watch
	lostWhy    string    // why the key counts as lost, if it does
	errs       []nodeError
}

type nodeError struct {
	op  string
	err string
}

// StartLeaseLoad creates the clients and the watch, then grants, puts and
// starts keeping alive every node (Parallel at a time), and returns once
// every live node has had its first keepalive response. Nodes whose grant,
// put or first keepalive failed are recorded as errors and are not live.
// The workload is closed when t ends.
func StartLeaseLoad(t testing.TB, cfg LeaseLoad) *LeaseLoadRun {
	t.Helper()
	cfg = cfg.withDefaults()
	r := &LeaseLoadRun{cfg: cfg, byKey: map[string]*leaseNode{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	t.Cleanup(r.Close)
	nClients := (cfg.Nodes + cfg.NodesPerClient - 1) / cfg.NodesPerClient
	for c := range nClients {
		eps := cfg.Endpoints
		if cfg.EndpointsFor != nil {
			eps = cfg.EndpointsFor(c)
		}
		r.clients = append(r.clients, newLoadClient(t, eps, cfg.DialKeepAlive))
	}
	for i := range cfg.Nodes {
		n := &leaseNode{idx: i, key: cfg.Prefix + NodeName(i), cli: r.clients[i/cfg.NodesPerClient]}
		r.nodes = append(r.nodes, n)
		r.byKey[n.key] = n
	}
	var err error
	r.watcher, err = startDeleteWatcher(r.ctx, newLoadClient(t, cfg.WatchEndpoints, cfg.DialKeepAlive), cfg.Prefix, r.observeDelete)
	if err != nil {
		t.Fatalf("lease load: %v", err)
	}
	r.forEach(r.nodes, r.startNode)
	// Until its first answer, clientv3 gives a keepalive only its dial
	// timeout + 1 s, not the TTL: a fault injected before then fails the
	// node for a reason no real node would meet.
	if err := harness.Await(startPatience, func() error {
		if k := r.awaitingFirstKeepAlive(); k > 0 {
			return fmt.Errorf("%d live nodes without a keepalive response", k)
		}
		return nil
	}); err != nil {
		t.Fatalf("lease load: %v", err)
	}
	return r
}

// startPatience bounds StartLeaseLoad's wait for the first keepalive
// responses; a node that gets none fails within clientv3's first-keepalive
// timeout (6 s here), so this only turns a hang into a failure.
const startPatience = 60 * time.Second

func (r *LeaseLoadRun) awaitingFirstKeepAlive() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := 0
	for _, n := range r.nodes {
		if n.live && n.keepAlives == 0 {
			k++
		}
	}
	return k
}

func (cfg LeaseLoad) withDefaults() LeaseLoad {
	if cfg.TTL == 0 {
		cfg.TTL = defaultLeaseTTL
	}
	if cfg.NodesPerClient == 0 {
		cfg.NodesPerClient = defaultNodesPerClient
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = defaultLeaseParallel
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = defaultLeaseOpTimeout
	}
	if cfg.WatchEndpoints == nil {
		cfg.WatchEndpoints = cfg.Endpoints
		if cfg.EndpointsFor != nil {
			cfg.WatchEndpoints = cfg.EndpointsFor(0)
		}
	}
	return cfg
}

// newLoadClient is a clientv3 client that the workload closes itself, in
// Close (harness.Client would close it only when t ends).
func newLoadClient(t testing.TB, endpoints []string, dialKA DialKeepAlive) *clientv3.Client {
	t.Helper()
	cli, err := newWorkloadClient(endpoints, dialKA)
	if err != nil {
		t.Fatalf("lease load: clientv3.New(%v): %v", endpoints, err)
	}
	return cli
}

// forEach runs f on every node of nodes, Parallel at a time, and waits.
func (r *LeaseLoadRun) forEach(nodes []*leaseNode, f func(*leaseNode)) {
	sem := make(chan struct{}, r.cfg.Parallel)
	var wg sync.WaitGroup
	for _, n := range nodes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(n)
		})
	}
	wg.Wait()
}

func (r *LeaseLoadRun) fail(n *leaseNode, op string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n.errs = append(n.errs, nodeError{op: op, err: err.Error()})
}

// startNode grants n's lease, puts its key and starts its keepalives.
func (r *LeaseLoadRun) startNode(n *leaseNode) {
	ctx, cancel := r.boundCtx(r.ctx)
	defer cancel()
	g, err := n.cli.Grant(ctx, r.cfg.TTL)
	if err != nil {
		r.fail(n, "grant", err)
		return
	}
	if _, err := n.cli.Put(ctx, n.key, NodeName(n.idx), clientv3.WithLease(g.ID)); err != nil {
		r.fail(n, "put", err)
		return
	}
	kaCtx, stop := context.WithCancel(r.ctx)
	ch, err := n.cli.KeepAlive(kaCtx, g.ID)
	if err != nil {
		stop()
		r.fail(n, "keepalive", err)
		return
	}
	r.mu.Lock()
	n.lease, n.grantedTTL, n.live, n.stopKA = g.ID, g.TTL, true, stop
	r.mu.Unlock()
	r.wg.Go(func() { r.consumeKeepAlives(n, kaCtx, ch) })
}

// consumeKeepAlives records n's keepalive responses until the channel
// closes; a close that the workload did not ask for is a failure.
func (r *LeaseLoadRun) consumeKeepAlives(n *leaseNode, kaCtx context.Context, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	for range ch {
		now := time.Now()
		r.mu.Lock()
		n.lastKA = now
		n.keepAlives++
		r.mu.Unlock()
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if kaCtx.Err() != nil {
		return // Stop, RevokeAll or Close
	}
	n.live = false
	n.failedAt = now
	n.errs = append(n.errs, nodeError{op: "keepalive", err: fmt.Sprintf(
		"keepalive channel closed by itself (lease expired or unanswered for a TTL) after %d responses%s",
		n.keepAlives, lastResponse(n.lastKA, now))})
}

func lastResponse(last, now time.Time) string {
	if last.IsZero() {
		return ""
	}
	return fmt.Sprintf(", the last %v before", now.Sub(last).Round(time.Millisecond))
}

// observeDelete is the watcher's callback for every DELETE under the prefix.
func (r *LeaseLoadRun) observeDelete(key string, at time.Time) {
	n, ok := r.byKey[key]
	if !ok {
		return // not a node's key (the op mix's, say)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n.deletedAt.IsZero() {
		n.deletedAt = at
	}
	if n.live && n.lostWhy == "" {
		n.lostWhy = "DELETE seen while its lease was kept alive"
	}
}

// Stop stops the keepalives of the given nodes, as if they died (their
// clients and streams stay, shared with other nodes); the instant is
// recorded for the report. Nodes that are not live are skipped. It returns
// the nodes it stopped, for WaitGone.
func (r *LeaseLoadRun) Stop(nodes ...int) []int {
	now := time.Now()
	var stopped []int
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range nodes {
		n := r.nodes[i]
		if !n.live {
			continue
		}
		n.live = false
		n.stoppedAt = now
		n.stopKA()
		stopped = append(stopped, i)
	}
	return stopped
}

// WaitGone waits until the watch has seen the DELETE of every given node's
// key, and fails t after patience (not a threshold: about TTL is expected,
// ask for much more).
func (r *LeaseLoadRun) WaitGone(t testing.TB, nodes []int, patience time.Duration) {
	t.Helper()
	remaining := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		k := 0
		for _, i := range nodes {
			if r.nodes[i].deletedAt.IsZero() {
				k++
			}
		}
		return k
	}
	if err := harness.Await(patience, func() error {
		if k := remaining(); k > 0 {
			return fmt.Errorf("%d of %d keys of stopped nodes not deleted yet (watch errors: %v)", k, len(nodes), r.watcher.errors())
		}
		return nil
	}); err != nil {
		t.Fatalf("lease load: %v", err)
	}
}

// Live returns the indexes of the nodes that are live now.
func (r *LeaseLoadRun) Live() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, n := range r.nodes {
		if n.live {
			out = append(out, n.idx)
		}
	}
	return out
}

// Key is node i's key.
func (r *LeaseLoadRun) Key(i int) string { return r.nodes[i].key }

// Lease is node i's lease ID (0 if its grant failed).
func (r *LeaseLoadRun) Lease(i int) clientv3.LeaseID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nodes[i].lease
}

// LastKeepAlive is when node i last got a keepalive response (zero if never).
func (r *LeaseLoadRun) LastKeepAlive(i int) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nodes[i].lastKA
}

// KeepAlives is how many keepalive responses node i has had.
func (r *LeaseLoadRun) KeepAlives(i int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nodes[i].keepAlives
}

// ClientOf is the index of the client node i uses (for EndpointsFor).
func (r *LeaseLoadRun) ClientOf(i int) int { return i / r.cfg.NodesPerClient }

// liveNodes returns the live nodes.
func (r *LeaseLoadRun) liveNodes() []*leaseNode {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*leaseNode
	for _, n := range r.nodes {
		if n.live {
			out = append(out, n)
		}
	}
	return out
}

// Close stops every keepalive and the watch, closes the clients and waits
// for every goroutine. It is idempotent; the test's cleanup calls it.
func (r *LeaseLoadRun) Close() {
	r.cancel()
	r.wg.Wait()
	if r.watcher != nil {
		r.watcher.close()
	}
	for _, c := range r.clients {
		c.Close()
	}
}

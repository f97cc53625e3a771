package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// The ZooKeeper benchmark (issue 10): the same service-discovery workload
// on ZooKeeper natively and through herald on ZooKeeper.
const (
	defaultZKNodes    = 10000
	defaultZKWatchers = 100
	defaultZKConns    = 100
	// defaultZKTTL is both the native sessions' timeout and the leases'
	// TTL. The harness's ZooKeeper (tickTime 500 ms) takes 1 s to 10 s.
	defaultZKTTL = 3 * time.Second
	zkFailures   = 50 // nodes that fail at one instant
	zkProbes     = 40 // single writes whose notification latency is measured
	zkProbeGap   = 150 * time.Millisecond
	zkParallel   = 64
	zkDeliveryT  = 60 * time.Second // bounds a wait; what is missing is reported
	zkDir        = "/bench/nodes"
	// zkIdleWindow is how long a fresh server's CPU is measured before any
	// client: the JVM's own floor, which no client can go below.
	zkIdleWindow = 10 * time.Second
)

// zkResult is one path's row.
type zkResult struct {
	recvPerSec, sentPerSec, cpu float64
	idleCPU                     float64      // the same server's before any client
	failure                     distribution // failure → the watchers' notification
	failureFromLast             distribution // herald: from each lease's last keepalive
	failureSeen, failureWant    int
	latency                     distribution // write → each watcher's notification
	latencySeen, latencyWant    int
	sentPerEvent                float64
	note                        string
}

// BenchmarkZooKeeper: N nodes register (native: an ephemeral znode per
// session; herald: a leased key per node, kept alive through herald) and W
// watchers follow them (native: re-armed child watches on the directory;
// herald: an etcd watch on the prefix each, through herald's fan-out). It
// measures ZooKeeper's load in a steady window (packets received and sent
// per second, from mntr; its CPU from /proc), the latency from a write to
// each watcher's notification and ZooKeeper's packets sent per event, and
// the time from F nodes failing at one instant to each watcher learning it.
func BenchmarkZooKeeper(b *testing.B) {
	skipUnlessEnabled(b)
	if err := harness.ZooKeeperInstalled(); err != nil {
		b.Skip(err)
	}
	n := envInt(b, zkNodesEnv, defaultZKNodes)
	w := envInt(b, zkWatchersEnv, defaultZKWatchers)
	conns := envInt(b, zkConnsEnv, defaultZKConns)
	ttl := envDuration(b, zkTTLEnv, defaultZKTTL)
	window := envDuration(b, windowEnv, defaultWindow)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	treeAtBuild(root)
	printRunInfo(os.Stdout, "BenchmarkZooKeeper", root)

	native := runZKNative(b, n, w, ttl, window)
	herald := runZKHerald(b, n, w, conns, ttl, window)
	t := newTable("path", "nodes", "watchers", "ZK packets in/s", "ZK packets out/s", "ZK CPU (cores)", "ZK CPU idle before", "ZK CPU above idle: ×lower", "ZK packets in: ×fewer",
		"failure → watchers: p50 / p99 / last", "from last keepalive: p50 / p99", "write → watchers: p50 / p99", "ZK packets out per event")
	for _, row := range []struct {
		name string
		r    zkResult
	}{{"ZooKeeper natively", native}, {"herald on ZooKeeper", herald}} {
		r := row.r
		fromLast := "—"
		if r.failureFromLast.n > 0 {
			fromLast = fmt.Sprintf("%s / %s", secs(r.failureFromLast.p50), secs(r.failureFromLast.p99))
		}
		lower := "not above idle" // the JVM's floor, measured before clients, varies
		if above := r.cpu - r.idleCPU; above > 0 {
			lower = fewer(native.cpu-native.idleCPU, above)
		}
		t.add(row.name, n, w, rate(r.recvPerSec), rate(r.sentPerSec), cores(r.cpu), cores(r.idleCPU),
			lower, fewer(native.recvPerSec, r.recvPerSec),
			fmt.Sprintf("%s / %s / %s (%d of %d)", secs(r.failure.p50), secs(r.failure.p99), secs(r.failure.last), r.failureSeen, r.failureWant),
			fromLast, fmt.Sprintf("%s / %s (%d of %d)", ms(r.latency.p50), ms(r.latency.p99), r.latencySeen, r.latencyWant),
			fmt.Sprintf("%.1f", r.sentPerEvent))
	}
	fmt.Printf("%d nodes, %d watchers, TTL and session timeout %v; a fresh standalone ZooKeeper per row; steady window %v. "+
		"Natively each node is a session with an ephemeral znode and each watcher a session re-arming a child watch on %s (listing it at each notification). "+
		"Through herald each node is a lease (kept alive every TTL/3 over %d connections) with one key under %s/, each watcher an etcd watch on the prefix through herald (--fanout-prefix). "+
		"Failure: %d nodes fail at one instant (natively their TCP connections are cut; through herald their keepalives stop); times are from that instant (and, through herald, from each lease's last keepalive) to each watcher's notification. "+
		"Latency: %d single writes %v apart, to each watcher's notification; packets out per event are over that phase. "+
		"ZK CPU idle is the fresh server's over %v before any client connects.\n\n",
		n, w, ttl, window, zkDir, conns, zkDir, zkFailures, zkProbes, zkProbeGap, zkIdleWindow)
	t.write(os.Stdout)
	for _, r := range []zkResult{native, herald} {
		if r.note != "" {
			fmt.Println(r.note)
		}
	}
	fmt.Printf("\nreproduce: %s\n\n", reproduceCommand("BenchmarkZooKeeper"))
}

// zkSteady measures ZooKeeper over a window: mntr's packet counters and
// the JVM's CPU.
func zkSteady(b *testing.B, s *harness.ZooKeeperServer, window time.Duration) (recv, sent, cpu float64) {
	b.Helper()
	before, err := s.Mntr()
	if err != nil {
		b.Fatal(err)
	}
	meter, err := startCPU(s.PID())
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(window)
	after, err := s.Mntr()
	if err != nil {
		b.Fatal(err)
	}
	c, err := meter.cores()
	if err != nil {
		b.Fatal(err)
	}
	d := zkMntrDelta{before, after}
	return d.of("zk_packets_received") / window.Seconds(), d.of("zk_packets_sent") / window.Seconds(), c[0]
}

func runZKNative(b *testing.B, n, w int, ttl, window time.Duration) zkResult {
	b.Helper()
	z := harness.StartZooKeeper(b, harness.ZooKeeperOptions{})
	defer z.Server(0).Stop()
	var r zkResult
	_, _, r.idleCPU = zkSteady(b, z.Server(0), zkIdleWindow)
	server := z.Server(0).ClientAddr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin, err := connectZK(ctx, server, ttl)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	for _, p := range []string{"/bench", zkDir} {
		if _, err := admin.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			b.Fatal(err)
		}
	}
	// The nodes that will fail reach ZooKeeper through a proxy that can
	// cut them off; the others connect directly.
	cut := harness.StartTCPProxy(b, server)
	failing, err := dialZKNodes(ctx, cut.Addr(), zkDir, 0, zkFailures, ttl, zkParallel)
	if err != nil {
		b.Fatal(err)
	}
	defer failing.close()
	others, err := dialZKNodes(ctx, server, zkDir, zkFailures, n-zkFailures, ttl, zkParallel)
	if err != nil {
		b.Fatal(err)
	}
	defer others.close()
	watchers := make([]*zkChildWatcher, w)
	var wg sync.WaitGroup
	wctx, stopWatchers := context.WithCancel(ctx)
	defer func() { stopWatchers(); wg.Wait() }()
	for i := range watchers {
		conn, err := connectZK(ctx, server, ttl)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		watchers[i] = newZKChildWatcher(conn, zkDir)
		ready := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := watchers[i].run(wctx, ready); err != nil {
				fmt.Printf("native watcher %d: %v\n", i, err)
			}
		}()
		<-ready
	}
	r.recvPerSec, r.sentPerSec, r.cpu = zkSteady(b, z.Server(0), window)

	// Latency: probes created one at a time.
	before, err := z.Server(0).Mntr()
	if err != nil {
		b.Fatal(err)
	}
	sent := make([]time.Time, zkProbes)
	for i := range zkProbes {
		sent[i] = time.Now()
		if _, err := admin.Create(zkDir+"/"+zkProbeName(i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			b.Fatal(err)
		}
		time.Sleep(zkProbeGap)
	}
	after, err := z.Server(0).Mntr()
	if err != nil {
		b.Fatal(err)
	}
	phase := time.Duration(zkProbes) * zkProbeGap
	r.sentPerEvent = (zkMntrDelta{before, after}.of("zk_packets_sent") - r.sentPerSec*phase.Seconds()) / zkProbes
	r.latencyWant = zkProbes * w
	lat := awaitSamples(r.latencyWant, func() []time.Duration {
		var out []time.Duration
		for _, wt := range watchers {
			for i := range zkProbes {
				if at := wt.addedAt(zkProbeName(i)); !at.IsZero() {
					out = append(out, at.Sub(sent[i]))
				}
			}
		}
		return out
	})
	r.latencySeen, r.latency = len(lat), summarise(lat)

	// Failure: the failing nodes' connections are cut at once.
	stop := time.Now()
	cut.Cut()
	r.failureWant = zkFailures * w
	fail := awaitSamples(r.failureWant, func() []time.Duration {
		var out []time.Duration
		for _, wt := range watchers {
			for i := range zkFailures {
				if at := wt.goneAt(zkNodeName(i)); !at.IsZero() {
					out = append(out, at.Sub(stop))
				}
			}
		}
		return out
	})
	r.failureSeen, r.failure = len(fail), summarise(fail)
	relists := 0
	for _, wt := range watchers {
		wt.mu.Lock()
		relists += wt.relists
		wt.mu.Unlock()
	}
	r.note = fmt.Sprintf("natively: the %d watchers listed %s %d times in all", w, zkDir, relists)
	return r
}

func zkProbeName(i int) string { return fmt.Sprintf("probe%03d", i) }

// awaitSamples polls collect until it returns want samples or zkDeliveryT
// passes, and returns the last collection.
func awaitSamples(want int, collect func() []time.Duration) []time.Duration {
	deadline := time.Now().Add(zkDeliveryT)
	for {
		got := collect()
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// zkEtcdWatcher records when an etcd watch first saw each key put and
// deleted.
type zkEtcdWatcher struct {
	mu         sync.Mutex
	put, gone  map[string]time.Time
	firstError error
}

func (w *zkEtcdWatcher) run(wch clientv3.WatchChan) {
	for resp := range wch {
		now := time.Now()
		w.mu.Lock()
		if err := resp.Err(); err != nil && w.firstError == nil {
			w.firstError = err
		}
		for _, ev := range resp.Events {
			m := w.put
			if ev.Type == mvccpb.DELETE {
				m = w.gone
			}
			if _, ok := m[string(ev.Kv.Key)]; !ok {
				m[string(ev.Kv.Key)] = now
			}
		}
		w.mu.Unlock()
	}
}

func (w *zkEtcdWatcher) at(deleted bool, key string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		return w.gone[key]
	}
	return w.put[key]
}

func runZKHerald(b *testing.B, n, w, conns int, ttl, window time.Duration) zkResult {
	b.Helper()
	z := harness.StartZooKeeper(b, harness.ZooKeeperOptions{})
	defer z.Server(0).Stop()
	var r zkResult
	_, _, r.idleCPU = zkSteady(b, z.Server(0), zkIdleWindow)
	h := harness.StartHerald(b, harness.HeraldOptions{Endpoints: []string{z.URL("/bench")}, ExtraArgs: []string{"--fanout-prefix", zkDir + "/"}})
	defer h.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	fleet, err := dialFleet([][]string{{h.Endpoint()}}, conns, ttl)
	if err != nil {
		b.Fatal(err)
	}
	defer fleet.close()
	g := fleet.grant(ctx, n, zkParallel)
	if g.failed > 0 {
		b.Fatalf("herald on ZooKeeper: %d of %d grants failed: %v", g.failed, n, g.firstErr)
	}
	if err := fleet.putLeasedKeys(ctx, zkDir+"/", g.ids, zkParallel); err != nil {
		b.Fatal(err)
	}
	admin, err := newClient(h.Endpoint())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	watchers := make([]*zkEtcdWatcher, w)
	wctx, stopWatchers := context.WithCancel(ctx)
	defer stopWatchers()
	for i := range watchers {
		cli, err := newClient(h.Endpoint())
		if err != nil {
			b.Fatal(err)
		}
		defer cli.Close()
		watchers[i] = &zkEtcdWatcher{put: map[string]time.Time{}, gone: map[string]time.Time{}}
		wch := cli.Watch(wctx, zkDir+"/", clientv3.WithPrefix(), clientv3.WithCreatedNotify())
		created := <-wch
		if created.Err() != nil {
			b.Fatalf("watcher %d: %v", i, created.Err())
		}
		go watchers[i].run(wch)
	}
	r.recvPerSec, r.sentPerSec, r.cpu = zkSteady(b, z.Server(0), window)

	before, err := z.Server(0).Mntr()
	if err != nil {
		b.Fatal(err)
	}
	sent := make([]time.Time, zkProbes)
	for i := range zkProbes {
		sent[i] = time.Now()
		if _, err := admin.Put(ctx, zkDir+"/"+zkProbeName(i), "up"); err != nil {
			b.Fatal(err)
		}
		time.Sleep(zkProbeGap)
	}
	after, err := z.Server(0).Mntr()
	if err != nil {
		b.Fatal(err)
	}
	// The window's steady traffic goes on during the probes: take it out.
	phase := time.Duration(zkProbes) * zkProbeGap
	r.sentPerEvent = (zkMntrDelta{before, after}.of("zk_packets_sent") - r.sentPerSec*phase.Seconds()) / zkProbes
	r.latencyWant = zkProbes * w
	lat := awaitSamples(r.latencyWant, func() []time.Duration {
		var out []time.Duration
		for _, wt := range watchers {
			for i := range zkProbes {
				if at := wt.at(false, zkDir+"/"+zkProbeName(i)); !at.IsZero() {
					out = append(out, at.Sub(sent[i]))
				}
			}
		}
		return out
	})
	r.latencySeen, r.latency = len(lat), summarise(lat)

	failing := map[int64]bool{}
	for _, id := range g.ids[:zkFailures] {
		failing[id] = true
	}
	stop := time.Now()
	fleet.stopLeases(func(id int64) bool { return failing[id] })
	lastSent := map[int64]time.Time{}
	for _, st := range fleet.leaseStates() {
		if failing[st.id] {
			lastSent[st.id] = st.lastSent
		}
	}
	r.failureWant = zkFailures * w
	var fromLast []time.Duration
	fail := awaitSamples(r.failureWant, func() []time.Duration {
		var out []time.Duration
		fromLast = fromLast[:0]
		for _, wt := range watchers {
			for i, id := range g.ids[:zkFailures] {
				if at := wt.at(true, leasedKey(zkDir+"/", i)); !at.IsZero() {
					out = append(out, at.Sub(stop))
					fromLast = append(fromLast, at.Sub(lastSent[id]))
				}
			}
		}
		return out
	})
	r.failureSeen, r.failure, r.failureFromLast = len(fail), summarise(fail), summarise(fromLast)
	for i, wt := range watchers {
		if wt.firstError != nil {
			r.note += fmt.Sprintf("herald watcher %d: %v\n", i, wt.firstError)
			break
		}
	}
	return r
}

package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Defaults of the fan-out benchmarks (issue 5).
const (
	defaultWatchers     = "1000,10000"
	defaultProxies      = 10
	defaultEvents       = 200
	defaultChanges      = 20
	defaultNodes        = 50
	defaultNodeWatchers = 10

	// idleWindow is how long the upstream-cost benchmark watches etcd's
	// counter with nothing happening, to measure the constant (herald's
	// progress heartbeats) that it then subtracts.
	idleWindow = 5 * time.Second
	// putParallel is how many Puts the upstream-cost workload has in flight.
	putParallel = 8
	// deliveryWait bounds the wait for a workload's events to arrive.
	deliveryWait = 60 * time.Second

	nodeTTL       = 3 * time.Second
	nodeKeepAlive = nodeTTL / 3
	nodeSettle    = nodeTTL + time.Second
	nodeSpread    = 5 * time.Second
	nodesPrefix   = fanoutPrefix + "nodes/"
)

// BenchmarkFanoutUpstreamCost counts the watch messages etcd sends per event
// when W watchers on distinct ranges inside /services/ are spread over P
// racks: straight at etcd, through one grpc-proxy per rack, through a fleet
// of P heralds. Two layouts of ranges: "1 key each" (watcher i watches key i,
// one Put per key, so each watcher sees one event and each event matches one
// watcher) and "overlapping" (watcher i watches keys [i, i+W/10), so each
// event matches up to W/10 watchers — distinct ranges, which grpc-proxy
// cannot merge).
func BenchmarkFanoutUpstreamCost(b *testing.B) {
	skipUnlessEnabled(b)
	paths := benchPaths(b)
	ws := envInts(b, watchersEnv, defaultWatchers)
	p := envInt(b, proxiesEnv, defaultProxies)
	events := envInt(b, eventsEnv, defaultEvents)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	printRunInfo(os.Stdout, "BenchmarkFanoutUpstreamCost", root)

	t := newTable("path", "W", "P", "ranges", "events", "matching watchers / event", "delivered",
		"etcd Watch msgs", "idle msgs/s", "msgs / event (raw)", "msgs / event (− idle)", "feeder responses / event",
		"CPU etcd / fronts / bench")
	for _, w := range ws {
		for _, path := range paths {
			r := startRacks(b, path, p)
			for _, l := range []costLayout{disjointLayout(w), overlappingLayout(w, events)} {
				c := runCost(b, r, l)
				feeder := "—"
				if path == pathHerald {
					feeder = fmt.Sprintf("%.2f", c.feederResponses/float64(len(l.puts)))
				}
				t.add(path, w, p, l.name, len(l.puts), fmt.Sprintf("%.1f", float64(l.expected)/float64(len(l.puts))),
					fmt.Sprintf("%d/%d", c.delivered, l.expected), fmt.Sprintf("%.0f", c.sent),
					fmt.Sprintf("%.2f", c.idleRate), fmt.Sprintf("%.2f", c.sent/float64(len(l.puts))),
					fmt.Sprintf("%.2f", c.net/float64(len(l.puts))), feeder,
					fmt.Sprintf("%s / %s / %s", cores(c.cpuEtcd), cores(c.cpuFronts), cores(c.cpuGen)))
			}
			r.stop()
		}
	}
	fmt.Printf("W watchers on distinct ranges under %s, spread round-robin over P racks (direct: P connections to etcd), "+
		"%d watchers per raw gRPC Watch stream; Puts straight to etcd, %d in flight. \"etcd Watch msgs\" is the delta of etcd's "+
		"grpc_server_msg_sent_total{grpc_method=\"Watch\"} from the first Put until every event reached every matching watcher; "+
		"\"idle msgs/s\" is the same counter's rate over %v with the watchers open and nothing written (herald: its feeders' "+
		"progress heartbeats), and \"− idle\" subtracts that rate times the event window. \"feeder responses\" is herald's own "+
		"herald_fanout_upstream_watch_responses_total over the fleet (responses, heartbeats included). Fresh etcd and fronts per path and W; "+
		"CPU is cores busy over the event window (fronts summed).\n\n",
		fanoutPrefix, watchersPerStream, putParallel, idleWindow)
	if authOn() {
		fmt.Printf("etcd auth on (%s=1): watchers and writers authenticate as a user with read and write on %s; "+
			"the heralds run with --user, a user with read on it.\n\n", authEnv, fanoutPrefix)
	}
	t.write(os.Stdout)
	fmt.Println()
}

// costLayout is a set of watch ranges and the Puts that drive them.
type costLayout struct {
	name     string
	ranges   []watchRange
	puts     []string
	expected int // events the watchers should receive in all
}

func costKey(tag string, i int) string { return fmt.Sprintf("%s%s/%06d", fanoutPrefix, tag, i) }

func disjointLayout(w int) costLayout {
	l := costLayout{name: "1 key each"}
	for i := range w {
		l.ranges = append(l.ranges, watchRange{key: costKey("d", i)})
		l.puts = append(l.puts, costKey("d", i))
	}
	l.expected = w
	return l
}

func overlappingLayout(w, events int) costLayout {
	l := costLayout{name: "overlapping, W/10 keys each"}
	span := max(1, w/10)
	for i := range w {
		l.ranges = append(l.ranges, watchRange{key: costKey("o", i), end: costKey("o", i+span)})
	}
	for e := range events {
		j := (e*w + w/2) / events % w
		l.puts = append(l.puts, costKey("o", j))
		l.expected += min(j+1, span) // watchers i with j-span < i ≤ j
	}
	return l
}

type costResult struct {
	delivered       int64
	idleRate        float64
	sent, net       float64
	feederResponses float64
	cpuEtcd         float64
	cpuFronts       float64
	cpuGen          float64
}

func runCost(b *testing.B, r *racks, l costLayout) costResult {
	b.Helper()
	token, err := r.token()
	if err != nil {
		b.Fatal(err)
	}
	f, err := openWatchersWith(r.endpoints, l.ranges, watchOptions{token: token})
	if err != nil {
		b.Fatalf("%s: %v", r.kind, err)
	}
	defer f.close()
	cli, err := r.client(r.etcd.Endpoints()[0])
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	time.Sleep(time.Second)

	var c costResult
	m0, err := r.watchMessagesSent()
	if err != nil {
		b.Fatal(err)
	}
	idleStart := time.Now()
	time.Sleep(idleWindow)
	m1, err := r.watchMessagesSent()
	if err != nil {
		b.Fatal(err)
	}
	c.idleRate = (m1 - m0) / time.Since(idleStart).Seconds()
	feed0 := r.feederResponses()
	cpu, err := r.startCPU()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), deliveryWait)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(putParallel)
	for i, k := range l.puts {
		g.Go(func() error {
			_, err := cli.Put(gctx, k, fmt.Sprint(i))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("%s: put: %v", r.kind, err)
	}
	c.delivered = f.waitEvents(int64(l.expected), deliveryWait)
	m2, err := r.watchMessagesSent()
	if err != nil {
		b.Fatal(err)
	}
	window := time.Since(start).Seconds()
	if c.cpuEtcd, c.cpuFronts, c.cpuGen, err = cpu.cores(); err != nil {
		b.Fatal(err)
	}
	c.feederResponses = r.feederResponses() - feed0
	c.sent = m2 - m1
	c.net = c.sent - c.idleRate*window
	if c.delivered < int64(l.expected) {
		fmt.Printf("%s, %s: only %d of %d events delivered within %v\n", r.kind, l.name, c.delivered, l.expected, deliveryWait)
	}
	if h := f.health(); h != "" {
		fmt.Printf("%s, %s: %s\n", r.kind, l.name, h)
	}
	return c
}

// feederResponses is herald_fanout_upstream_watch_responses_total over the
// fleet (0 for the other paths).
func (r *racks) feederResponses() float64 {
	if r.kind != pathHerald {
		return 0
	}
	v, err := r.sumFrontMetric("herald_fanout_upstream_watch_responses_total")
	if err != nil {
		return 0
	}
	return v
}

// BenchmarkFanoutDeliveryLatency puts one key, again and again, that W
// watchers (distinct ranges, all holding the key) spread over P racks watch,
// and reports the time from just before each Put to each watcher's receipt.
func BenchmarkFanoutDeliveryLatency(b *testing.B) {
	skipUnlessEnabled(b)
	paths := benchPaths(b)
	w := slices.Max(envInts(b, watchersEnv, defaultWatchers))
	p := envInt(b, proxiesEnv, defaultProxies)
	changes := envInt(b, changesEnv, defaultChanges)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	printRunInfo(os.Stdout, "BenchmarkFanoutDeliveryLatency", root)

	t := newTable("path", "W", "P", "changes", "deliveries", "p50", "p99", "max", "slowest watcher per change: p50",
		"Put round trip p50", "CPU etcd / fronts / bench")
	for _, path := range paths {
		r := startRacks(b, path, p)
		d := runLatency(b, r, w, changes)
		r.stop()
		t.add(path, w, p, changes, fmt.Sprintf("%d/%d", d.all.n, w*changes), ms(d.all.p50), ms(d.all.p99), ms(d.all.last),
			ms(d.slowest.p50), ms(d.put.p50), fmt.Sprintf("%s / %s / %s", cores(d.cpuEtcd), cores(d.cpuFronts), cores(d.cpuGen)))
	}
	fmt.Printf("One key, %shot, changed %d times (Put straight to etcd, one at a time, the next once every watcher has the "+
		"previous one or after 10 s, then a 200 ms pause); W watchers each on a distinct range that holds it, round-robin "+
		"over P racks (direct: P connections to etcd), %d per raw gRPC Watch stream. Latency is from just before the Put "+
		"to the watcher's stream handing over the response, in the benchmark process (which shares the 2 cores with etcd "+
		"and the fronts and decodes every one of the W responses per change). CPU is cores busy over the whole run (fronts summed).\n\n",
		fanoutPrefix, changes, watchersPerStream)
	t.write(os.Stdout)
	fmt.Println()
}

type latencyResult struct {
	all, slowest, put          distribution
	cpuEtcd, cpuFronts, cpuGen float64
}

func runLatency(b *testing.B, r *racks, w, changes int) latencyResult {
	b.Helper()
	hot := fanoutPrefix + "hot"
	ranges := make([]watchRange, w)
	for i := range ranges {
		ranges[i] = watchRange{key: hot, end: fmt.Sprintf("%s/%06d", hot, i)}
	}
	f, err := openWatchers(r.endpoints, ranges, false, true)
	if err != nil {
		b.Fatalf("%s: %v", r.kind, err)
	}
	defer f.close()
	cli, err := newClient(r.etcd.Endpoints()[0])
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	time.Sleep(time.Second)
	cpu, err := r.startCPU()
	if err != nil {
		b.Fatal(err)
	}
	sentAt := map[int64]time.Time{}
	var puts []time.Duration
	for c := range changes {
		t0 := time.Now()
		resp, err := cli.Put(context.Background(), hot, fmt.Sprint(c))
		if err != nil {
			b.Fatalf("%s: put: %v", r.kind, err)
		}
		puts = append(puts, time.Since(t0))
		sentAt[resp.Header.Revision] = t0
		if got := f.waitEvents(int64((c+1)*w), 10*time.Second); got < int64((c+1)*w) {
			fmt.Printf("%s: after change %d, %d deliveries missing in all (10 s wait)\n", r.kind, c, int64((c+1)*w)-got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if h := f.health(); h != "" {
		fmt.Printf("%s: %s\n", r.kind, h)
	}
	var res latencyResult
	if res.cpuEtcd, res.cpuFronts, res.cpuGen, err = cpu.cores(); err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	slowest := map[int64]time.Duration{}
	for _, a := range f.arrivals() {
		t0, ok := sentAt[a.rev]
		if !ok || a.key != hot {
			continue
		}
		d := a.at.Sub(t0)
		all = append(all, d)
		slowest[a.rev] = max(slowest[a.rev], d)
	}
	var worst []time.Duration
	for _, d := range slowest {
		worst = append(worst, d)
	}
	res.all, res.slowest, res.put = summarise(all), summarise(worst), summarise(puts)
	return res
}

// BenchmarkFailureToNotification: nodes, each with a lease of TTL 3 s
// granted through rack A and one key under /services/nodes/, keep alive
// every TTL/3 through A and stop at staggered instants; watchers on the
// other racks report when each node's DELETE arrives, minus the node's last
// keepalive and the TTL.
func BenchmarkFailureToNotification(b *testing.B) {
	skipUnlessEnabled(b)
	paths := benchPaths(b)
	p := envInt(b, proxiesEnv, defaultProxies)
	nodes := envInt(b, nodesEnv, defaultNodes)
	per := envInt(b, nodeWatchEnv, defaultNodeWatchers)
	if p < 2 {
		b.Fatalf("%s: at least 2 racks (A and a watcher's)", proxiesEnv)
	}
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	printRunInfo(os.Stdout, "BenchmarkFailureToNotification", root)

	t := newTable("path", "P", "nodes", "watchers", "DELETEs", "p50", "p99", "max", "min",
		"at etcd (direct watcher): min / p50 / p99 / max", "before TTL (watchers / etcd)", "keepalives answered TTL ≤ 0", "CPU etcd / fronts / bench")
	for _, path := range paths {
		r := startRacks(b, path, p)
		res := runFailure(b, r, nodes, per)
		r.stop()
		t.add(path, p, nodes, per*(p-1), fmt.Sprintf("%d/%d", res.path.n, nodes*per*(p-1)), ms(res.path.p50), ms(res.path.p99),
			ms(res.path.last), ms(res.path.first),
			fmt.Sprintf("%s / %s / %s / %s (%d)", ms(res.etcd.first), ms(res.etcd.p50), ms(res.etcd.p99), ms(res.etcd.last), res.etcd.n),
			fmt.Sprintf("%d / %d", res.early, res.etcdEarly), res.lost, fmt.Sprintf("%s / %s / %s", cores(res.cpuEtcd), cores(res.cpuFronts), cores(res.cpuGen)))
	}
	fmt.Printf("%d nodes, each a lease of TTL %v granted through rack A (direct: at etcd) with one key under %s put through A, "+
		"kept alive every %v (random phase) over its own LeaseKeepAlive stream to A; node k stops after its last keepalive before "+
		"%v + k×%v/%d. %d watchers (raw gRPC, prefix %s) on each of the other P−1 racks. Figures are "+
		"DELETE arrival − last keepalive sent − TTL, per (node, watcher); \"at etcd\" is one watcher straight at etcd "+
		"(when etcd's event was out). Fresh etcd and fronts per path; CPU is cores busy from the first stop to the last DELETE.\n\n",
		nodes, nodeTTL, nodesPrefix, nodeKeepAlive, nodeSettle, nodeSpread, nodes, per, nodesPrefix)
	t.write(os.Stdout)
	fmt.Println()
}

type failureResult struct {
	path, etcd                 distribution
	early, etcdEarly           int // DELETEs before last keepalive + TTL
	lost                       int64
	cpuEtcd, cpuFronts, cpuGen float64
}

func runFailure(b *testing.B, r *racks, nodes, per int) failureResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(context.Background()), 5*time.Minute)
	defer cancel()
	conn, err := grpc.NewClient(hostPort(r.endpoints[0]), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	lc, kv := pb.NewLeaseClient(conn), pb.NewKVClient(conn)

	var ranges []watchRange
	for range per * (len(r.endpoints) - 1) {
		ranges = append(ranges, watchRange{key: nodesPrefix, end: fanoutPrefix + "nodes0"})
	}
	watchers, err := openWatchers(r.endpoints[1:], ranges, false, true)
	if err != nil {
		b.Fatalf("%s: %v", r.kind, err)
	}
	defer watchers.close()
	ref, err := openWatchers(r.etcd.Endpoints(), ranges[:1], false, true)
	if err != nil {
		b.Fatalf("%s: %v", r.kind, err)
	}
	defer ref.close()

	ids := make([]int64, nodes)
	streams := make([]pb.Lease_LeaseKeepAliveClient, nodes)
	for k := range nodes {
		g, err := lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: int64(nodeTTL / time.Second)})
		if err != nil {
			b.Fatalf("%s: grant: %v", r.kind, err)
		}
		ids[k] = g.ID
		if _, err := kv.Put(ctx, &pb.PutRequest{Key: []byte(nodeKey(k)), Value: []byte("up"), Lease: g.ID}); err != nil {
			b.Fatalf("%s: put: %v", r.kind, err)
		}
		if streams[k], err = lc.LeaseKeepAlive(ctx); err != nil {
			b.Fatalf("%s: keepalive stream: %v", r.kind, err)
		}
	}
	// The Puts' events must not count as DELETEs; they are filtered by type
	// below, and the keepalives begin now.
	start := time.Now()
	last := make([]time.Time, nodes)
	var lost atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	for k := range nodes {
		stopAt := start.Add(nodeSettle + time.Duration(k)*nodeSpread/time.Duration(nodes))
		// A random phase, so that the last keepalives fall anywhere
		// relative to the servers' expiry ticks.
		next := start.Add(rand.N(nodeKeepAlive))
		wg.Go(func() {
			for next.Before(stopAt) {
				time.Sleep(time.Until(next))
				last[k] = time.Now()
				err := streams[k].Send(&pb.LeaseKeepAliveRequest{ID: ids[k]})
				var resp *pb.LeaseKeepAliveResponse
				if err == nil {
					resp, err = streams[k].Recv()
				}
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
				if resp.TTL <= 0 {
					lost.Add(1)
				}
				next = next.Add(nodeKeepAlive)
			}
		})
	}
	time.Sleep(nodeSettle)
	cpu, err := r.startCPU()
	if err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("%s: keepalive: %v", r.kind, firstErr)
	}
	want := int64(nodes*len(ranges)) + int64(nodes*len(ranges)) // PUTs then DELETEs
	watchers.waitEvents(want, nodeTTL+deliveryWait)
	ref.waitEvents(int64(2*nodes), time.Second)
	var res failureResult
	if res.cpuEtcd, res.cpuFronts, res.cpuGen, err = cpu.cores(); err != nil {
		b.Fatal(err)
	}
	res.lost = lost.Load()
	if h := watchers.health(); h != "" {
		fmt.Printf("%s: %s\n", r.kind, h)
	}
	res.path, res.early = notificationDelays(watchers.arrivals(), last)
	res.etcd, res.etcdEarly = notificationDelays(ref.arrivals(), last)
	return res
}

func nodeKey(k int) string { return fmt.Sprintf("%sn%04d", nodesPrefix, k) }

// notificationDelays is, for each first DELETE of a node's key at each
// watcher, arrival − last keepalive − TTL.
// The second result counts the DELETEs that arrived before last keepalive +
// TTL: a lease that ended early.
func notificationDelays(arrivals []arrival, last []time.Time) (distribution, int) {
	type seen struct {
		watcher int
		key     string
	}
	first := map[seen]bool{}
	var out []time.Duration
	for _, a := range arrivals {
		if !a.del || first[seen{a.watcher, a.key}] {
			continue
		}
		first[seen{a.watcher, a.key}] = true
		var k int
		if _, err := fmt.Sscanf(a.key, nodesPrefix+"n%04d", &k); err != nil || k < 0 || k >= len(last) {
			continue
		}
		out = append(out, a.at.Sub(last[k])-nodeTTL)
	}
	early := 0
	for _, d := range out {
		if d < 0 {
			early++
		}
	}
	return summarise(out), early
}

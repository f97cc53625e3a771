package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

const (
	scTTL       = 5 * time.Second
	scSingles   = 10              // web nodes stopped one at a time
	scSingleGap = 2 * time.Second // between two of them
	// scSteady is the steady window's default: long enough to hold one of
	// the garbage collections that Go forces every two minutes in an
	// otherwise idle process (etcd's, with a heap of 150 MB, costs about a
	// third of a CPU second); a 10 s window either misses it or charges
	// all of it to 10 s.
	scSteady      = 2 * time.Minute
	scSettle      = 3 * time.Second // after the watchers are created, before RSS is read
	scParallel    = 64              // grants and puts in flight
	scDefaultPath = "herald,direct,grpc-proxy"
	// scDeliveryWait bounds the wait for each phase's DELETEs beyond its
	// last stop + TTL; what has not arrived by then is counted lost.
	scDeliveryWait = 90 * time.Second
)

var scWebRange = watchRange{key: fanoutPrefix + "web/", end: fanoutPrefix + "web0"}

// BenchmarkScenario runs issue 15's founding scenario end to end: R racks of
// N leased nodes over S services, W watchers of /services/web/, ten web
// nodes stopped 2 s apart and then a whole rack at once, through a herald
// fleet (one herald per rack), direct to etcd and through one grpc-proxy per
// rack.
func BenchmarkScenario(b *testing.B) {
	skipUnlessEnabled(b)
	l := scenarioLayout{
		racks:    envInt(b, scRacksEnv, 10),
		perRack:  envInt(b, scNodesEnv, 5000),
		services: envInt(b, scServicesEnv, 100),
	}
	ld := scenarioLoad{
		watchers:   envInt(b, scWatchersEnv, 50000),
		conns:      envInt(b, scConnsEnv, 4),
		watchConns: envInt(b, scWatchConnsEnv, 4),
		genNice:    -10,
		steady:     envDuration(b, scSteadyEnv, scSteady),
	}
	if l.racks < 2 || l.perRack < l.services {
		b.Fatalf("scenario: need at least 2 racks and at least one node of every service per rack")
	}
	if need := (scSingles + l.racks - 2) / (l.racks - 1); need*l.services > l.perRack {
		b.Fatalf("scenario: %d racks of %d nodes hold too few web nodes outside the failed rack for %d single stops", l.racks, l.perRack, scSingles)
	}
	if v := os.Getenv(scGenNiceEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -20 || n > 19 {
			b.Fatalf("%s: %q is not a nice value (-20…19)", scGenNiceEnv, v)
		}
		ld.genNice = n
	}
	var paths []pathKind
	for _, name := range envList(scPathsEnv, scDefaultPath) {
		p, err := parsePathKind(name)
		if err != nil {
			b.Fatalf("%s: %v", scPathsEnv, err)
		}
		paths = append(paths, p)
	}
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	treeAtBuild(root)
	printRunInfo(os.Stdout, "BenchmarkScenario", root)

	lat := newTable("path", "racks × nodes", "watchers", "single stop: p50 / p99 / max", "rack stop: p50 / p99 / max",
		"rack: last watcher's last DELETE", "rack at etcd: first / last", "DELETEs (watcher × node)", "lost", "duplicated",
		"unexpected", "leases lost while kept alive")
	load := newTable("path", "steady: etcd CPU / fronts / bench", "steady: etcd gRPC msgs recv/s / sent/s",
		"steady: etcd GCs",
		"failures: etcd CPU / fronts / bench", "failures: etcd gRPC msgs recv / sent", "etcd RSS", "keepalive stream errors")
	var procTables []string
	var curves []cdfSeries
	colours := map[pathKind]string{pathHerald: "#1b9e77", pathDirect: "#d95f02", pathGRPCProxy: "#7570b3"}
	for _, p := range paths {
		res, err := runScenario(b, p, l, ld)
		if err != nil {
			fmt.Printf("%s: did not complete: %v\n", p, err)
			lat.add(p, fmt.Sprintf("%d × %d", l.racks, l.perRack), ld.watchers, "did not complete: "+err.Error())
			if res == nil {
				continue
			}
		}
		res.addRows(lat, load)
		curves = append(curves, cdfSeries{name: p.String() + ": single stop", sorted: res.single.sorted, colour: colours[p]},
			cdfSeries{name: p.String() + ": rack stop", sorted: res.rack.sorted, colour: colours[p], dashed: true})
		res.single.sorted, res.rack.sorted = nil, nil
		procTables = append(procTables, res.procTable())
	}
	fmt.Printf("%d racks × %d nodes = %d nodes over %d services (each rack holds %d nodes of each; `web` is %s), each node a lease of "+
		"TTL %v with one key %s<service>/r<rack>-n<j>, kept alive every TTL/3 (random first phase) over %d raw gRPC "+
		"connections per rack (one LeaseKeepAlive stream each; the leases of a rack multiplexed over them, as clientv3 "+
		"multiplexes a process's leases on one stream). %d watchers of %s (raw gRPC Watch streams of %d watchers each, each "+
		"watcher its own watch ID, over %d connections per rack, spread round-robin over the racks). After a settle of TTL "+
		"and a %v steady window, %d web nodes on racks other than rack %d stop keeping alive %v apart (\"single stop\"); "+
		"once every watcher has their DELETEs (or %v after the last stop + TTL), all %d nodes of rack %d stop at once "+
		"(\"rack stop\"; its front keeps running). Latencies are DELETE arrival − the node's last keepalive sent − TTL, "+
		"per (stopped node, watcher); \"last watcher's last DELETE\" is the latest arrival − the latest last keepalive of the rack's web nodes − TTL; "+
		"\"at etcd\" is one watcher straight at etcd. lost: (watcher, node) pairs without a DELETE; duplicated: extra "+
		"DELETEs of a node at one watcher; unexpected: any other event at a watcher (a PUT, or the DELETE of a node that "+
		"was not stopped). herald: one fleet (--fanout-prefix %s, --fanout-feeders 2, --gossip-profile local); direct: "+
		"the racks are views of etcd itself. Fresh etcd (one member) and fronts per path.\n\n",
		l.racks, l.perRack, l.nodes(), l.services, l.perRack/l.services, "service 0", scTTL, fanoutPrefix, ld.conns,
		ld.watchers, scWebRange.key, watchersPerStream, ld.watchConns, ld.steady, scSingles, l.failedRack(), scSingleGap,
		scDeliveryWait, l.perRack, l.failedRack(), fanoutPrefix)
	lat.write(os.Stdout)
	fmt.Println()
	fmt.Printf("CPU is cores kept busy (/proc/<pid>/stat) over the steady window and over the failures (first stop to the " +
		"last DELETE); etcd's gRPC messages are the deltas of grpc_server_msg_received_total and grpc_server_msg_sent_total, " +
		"all methods; \"bench\" is the load generator (this process).\n\n")
	load.write(os.Stdout)
	fmt.Println()
	fmt.Printf("Per process: RSS (VmRSS) when started, after the leases were granted, their keys put and a TTL passed, and "+
		"after the watchers were created and %v passed; bytes per lease = (after leases − started) / leases it serves "+
		"(herald, grpc-proxy: its rack's; etcd: all), bytes per watcher = (after watchers − after leases) / watchers it "+
		"serves (RSS deltas include everything those bring: state, buffers, the Go heap's slack). A herald's live heap: "+
		"the Go heap's allocated bytes right after a GC that the bench forces (/debug/pprof/heap?gc=1&debug=1), at the same points; "+
		"per lease and per watcher as for RSS.\n\n", scSettle)
	for _, t := range procTables {
		fmt.Print(t)
	}
	plot := os.Getenv(scPlotEnv)
	switch {
	case plot == "":
		plot = filepath.Join(os.TempDir(), "herald-scenario-cdf.svg")
	case !filepath.IsAbs(plot):
		plot = filepath.Join(root, plot) // as the printed command gives it, from the repository's root
	}
	f, err := os.Create(plot)
	if err == nil {
		title := fmt.Sprintf("failure → notification, %d × %d nodes, %d watchers", l.racks, l.perRack, ld.watchers)
		if err = writeCDFSVG(f, title, curves); err == nil {
			err = f.Close()
		}
	}
	if err != nil {
		b.Errorf("CDF plot not written: %v", err)
	} else {
		fmt.Printf("CDF plot (per path, single and rack stops): %s\n", plot)
	}
}

// procSample is one process's RSS at the three points and its CPU in the
// two windows.
type procSample struct {
	name string
	pid  int
	rss  [3]int64 // started, after leases, after watchers
	// heap is the live Go heap at the same points (a herald's: heap bytes
	// allocated right after a forced GC, read from heapURL's text heap
	// profile).
	heap [3]int64
	// granted is a herald's live heap after the grants, before any key
	// was put: what a lease costs on its own (the rest of heap[1]-heap[0]
	// is its key's: the lease index's attachment, the fan-out cache).
	granted                int64
	heapURL                string // a herald's metrics base URL, served with --enable-pprof
	leases, watchers       int    // it serves
	steadyCPU, failureCPU  float64
	logWarnings, logErrors int // herald only
	logPath                string
	hasLog                 bool
}

type scenarioResult struct {
	kind                      pathKind
	layout                    scenarioLayout
	watchers                  int
	single, rack              deliverySummary
	rackLast                  time.Duration // last arrival − the last keepalive of the rack's web nodes − TTL
	rackEtcd                  deliverySummary
	dups, dupW, unexp, unexpW int
	firstUnexpected           string
	lostAlive                 int64 // leases answered TTL ≤ 0 while kept alive
	streamErrs                int64
	procs                     []procSample // etcd, fronts…, bench
	steadyRecv, steadySent    float64      // per second
	steadyRecvBy              string       // steadyRecv per gRPC method, highest first
	steadyGCs                 int          // etcd's garbage collections in the steady window
	failRecv, failSent        float64
	health                    string
}

// scenarioLoad is the scenario's load besides its nodes: the watchers, the
// load generator's connections and nice value, and the steady window.
type scenarioLoad struct {
	watchers, conns, watchConns, genNice int
	steady                               time.Duration
}

func runScenario(b *testing.B, kind pathKind, l scenarioLayout, ld scenarioLoad) (*scenarioResult, error) {
	b.Helper()
	w := ld.watchers
	res := &scenarioResult{kind: kind, layout: l, watchers: w}
	r := startRacks(b, kind, l.racks)
	defer func() {
		r.stop()
		if kind == pathHerald {
			keepLogs(r.procs)
		}
	}()
	// The load generator plays 50k nodes and 50k watchers, each of which
	// would have a machine of its own. On this one it is one process among
	// a dozen, and the kernel shares the cores per thread: in a burst of
	// deliveries it got a sixth of them and sent keepalives 5–24 s late,
	// its leases expired, and their DELETEs made the burst larger. Once
	// etcd and the fronts are started (a child inherits its creator's
	// priority), its threads run at a higher priority (lower nice), so that
	// what the fronts and etcd get is what the nodes and watchers leave.
	if ld.genNice != 0 {
		if err := reniceSelf(ld.genNice); err != nil {
			return nil, fmt.Errorf("%s: %w", scGenNiceEnv, err)
		}
		defer reniceSelf(0)
		fmt.Printf("%s: load generator at nice %d, etcd and the fronts at their own\n", kind, ld.genNice)
	}
	// The processes: etcd, each front, this one.
	res.procs = append(res.procs, procSample{name: "etcd", pid: r.etcd.Member(0).PID(), leases: l.nodes(), watchers: w})
	for i, p := range r.procs {
		ps := procSample{name: fmt.Sprintf("%s %d", kind, i), pid: p.PID(), leases: l.perRack,
			watchers: w / l.racks, logPath: p.LogPath(), hasLog: kind == pathHerald}
		if kind == pathHerald {
			ps.heapURL = strings.TrimSuffix(r.metrics[i], "/metrics")
		}
		res.procs = append(res.procs, ps)
	}
	res.procs = append(res.procs, procSample{name: "bench (load generator)"})
	readRSS := func(point int) {
		time.Sleep(500 * time.Millisecond)
		for i := range res.procs {
			if v, err := rssBytes(res.procs[i].pid); err == nil {
				res.procs[i].rss[point] = v
			}
			if u := res.procs[i].heapURL; u != "" {
				if v, err := liveHeap(u, heapProfile(kind, i, point)); err == nil {
					res.procs[i].heap[point] = v
				} else {
					fmt.Printf("live heap of %s: %v\n", res.procs[i].name, err)
				}
			}
		}
	}
	pids := func() []int {
		var out []int
		for _, p := range res.procs {
			out = append(out, p.pid)
		}
		return out
	}
	readRSS(0)

	eps := make([][]string, l.racks)
	for i, ep := range r.endpoints {
		eps[i] = []string{ep}
	}
	fleet, err := dialFleet(eps, l.racks*ld.conns, scTTL)
	if err != nil {
		return nil, err
	}
	defer fleet.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	started := time.Now()
	g := fleet.grant(ctx, l.nodes(), scParallel)
	if g.failed > 0 {
		return nil, fmt.Errorf("%d of %d grants failed, first: %v", g.failed, l.nodes(), g.firstErr)
	}
	fmt.Printf("%s: %d leases granted in %v\n", kind, g.granted, time.Since(started).Round(time.Millisecond))
	for i := range res.procs {
		if u := res.procs[i].heapURL; u != "" {
			if v, err := liveHeap(u, heapProfile(kind, i, -1)); err == nil {
				res.procs[i].granted = v
			}
		}
	}
	started = time.Now()
	if err := fleet.putKeys(ctx, g.ids, l.key, scParallel); err != nil {
		return nil, err
	}
	fmt.Printf("%s: %d keys put in %v\n", kind, l.nodes(), time.Since(started).Round(time.Millisecond))
	time.Sleep(scTTL)
	readRSS(1)

	singles, rackWeb := l.singles(scSingles), l.rackWeb()
	stopped := append(append([]int{}, singles...), rackWeb...)
	keys := make([]string, len(stopped))
	for s, i := range stopped {
		keys[s] = l.key(i)
	}
	ledger := newDeliveryLedger(w, keys)
	sink := func(watcher int, ev *mvccpb.Event, at time.Time) {
		ledger.record(watcher, ev.Kv.Key, ev.Type == mvccpb.DELETE, at)
	}
	ranges := make([]watchRange, w)
	for i := range ranges {
		ranges[i] = scWebRange
	}
	started = time.Now()
	wf, err := openWatchersWith(r.endpoints, ranges, watchOptions{connsPerEndpoint: ld.watchConns, sink: sink})
	if err != nil {
		return nil, err
	}
	defer wf.close()
	fmt.Printf("%s: %d watchers created in %v\n", kind, w, time.Since(started).Round(time.Millisecond))
	refLedger := newDeliveryLedger(1, keys)
	ref, err := openWatchersWith(r.etcd.Endpoints(), []watchRange{scWebRange}, watchOptions{
		sink: func(_ int, ev *mvccpb.Event, at time.Time) {
			refLedger.record(0, ev.Kv.Key, ev.Type == mvccpb.DELETE, at)
		},
	})
	if err != nil {
		return nil, err
	}
	defer ref.close()
	time.Sleep(scSettle)
	readRSS(2)

	// The steady window.
	etcdMetrics := r.etcd.Member(0).MetricsURL() + "/metrics"
	cpu, err := startCPU(pids()...)
	if err != nil {
		return nil, err
	}
	e0, err := readEtcd(etcdMetrics)
	if err != nil {
		return nil, err
	}
	time.Sleep(ld.steady)
	steady, err := cpu.cores()
	if err != nil {
		return nil, err
	}
	e1, err := readEtcd(etcdMetrics)
	if err != nil {
		return nil, err
	}
	res.steadyRecv, res.steadySent = (total(e1.recvBy)-total(e0.recvBy))/ld.steady.Seconds(), (e1.sent-e0.sent)/ld.steady.Seconds()
	res.steadyRecvBy = ratesBetween(e0.recvBy, e1.recvBy, ld.steady)
	res.steadyGCs = int(e1.gcs - e0.gcs)

	// The failures.
	if cpu, err = startCPU(pids()...); err != nil {
		return nil, err
	}
	index := make(map[int64]int, len(g.ids))
	for i, id := range g.ids {
		index[id] = i
	}
	first := time.Now()
	for k, i := range singles {
		time.Sleep(time.Until(first.Add(time.Duration(k) * scSingleGap)))
		fleet.stopLeases(func(id int64) bool { return id == g.ids[i] })
	}
	singleSlots, rackSlots := slotRange(0, len(singles)), slotRange(len(singles), len(stopped))
	waitArrived(ledger, singleSlots, w, time.Now().Add(scTTL+scDeliveryWait))
	fleet.stopLeases(func(id int64) bool { return l.rack(index[id]) == l.failedRack() })
	waitArrived(ledger, rackSlots, w, time.Now().Add(scTTL+scDeliveryWait))
	waitArrived(refLedger, rackSlots, 1, time.Now().Add(time.Second))
	time.Sleep(time.Second) // duplicates and stragglers
	failure, err := cpu.cores()
	if err != nil {
		return nil, err
	}
	e2, err := readEtcd(etcdMetrics)
	if err != nil {
		return nil, err
	}
	res.failRecv, res.failSent = total(e2.recvBy)-total(e1.recvBy), e2.sent-e1.sent
	for i := range res.procs {
		res.procs[i].steadyCPU, res.procs[i].failureCPU = steady[i], failure[i]
	}

	// Every stopped node's last keepalive, and the rack's.
	lastSent := map[int64]time.Time{}
	var (
		rackLast time.Time
		sendGap  time.Duration // the load generator's lateness: above TTL, it let leases lapse
	)
	for _, st := range fleet.leaseStates() {
		sendGap = max(sendGap, st.maxSendGap)
		lastSent[st.id] = st.lastSent
		if i := index[st.id]; l.rack(i) == l.failedRack() && l.service(i) == scWebService && st.lastSent.After(rackLast) {
			rackLast = st.lastSent
		}
	}
	fmt.Printf("%s: longest gap between two keepalives of one lease leaving the load generator: %v (TTL %v)\n",
		kind, sendGap.Round(time.Millisecond), scTTL)
	refTimes := make([]time.Time, len(stopped))
	for s, i := range stopped {
		refTimes[s] = lastSent[g.ids[i]]
	}
	res.single = ledger.summary(singleSlots, refTimes, scTTL)
	res.rack = ledger.summary(rackSlots, refTimes, scTTL)
	if !res.rack.last.IsZero() {
		res.rackLast = res.rack.last.Sub(rackLast) - scTTL
	}
	res.rackEtcd = refLedger.summary(rackSlots, refTimes, scTTL)
	res.dups, res.dupW, res.unexp, res.unexpW, res.firstUnexpected = ledger.extras()
	res.streamErrs = fleet.counters.streamErrs.Load()
	// Over the whole run, failures included: a lease still kept alive
	// that its front let expire is the worst outcome there is.
	res.lostAlive = fleet.counters.lost.Load()
	res.health = wf.health()
	if res.health != "" {
		fmt.Printf("%s: watchers: %s\n", kind, res.health)
	}
	if err := fleet.counters.firstStreamError(); err != nil {
		fmt.Printf("%s: %d keepalive streams failed and were reopened, first: %v\n", kind, res.streamErrs, err)
	}
	if res.firstUnexpected != "" {
		fmt.Printf("%s: first unexpected event: key %s\n", kind, res.firstUnexpected)
	}
	for i := range res.procs {
		if res.procs[i].hasLog {
			res.procs[i].logWarnings, res.procs[i].logErrors = countLogLevels(res.procs[i].logPath)
		}
	}
	return res, nil
}

// slotRange is the slots [from, to).
func slotRange(from, to int) []int {
	out := make([]int, 0, to-from)
	for s := from; s < to; s++ {
		out = append(out, s)
	}
	return out
}

// waitArrived waits until each of w watchers has the DELETE of every slot,
// or until deadline.
func waitArrived(l *deliveryLedger, slots []int, w int, deadline time.Time) {
	for time.Now().Before(deadline) && l.arrived(slots) < w*len(slots) {
		time.Sleep(200 * time.Millisecond)
	}
}

// countLogLevels counts the lines of a herald log (slog's text handler) at
// level WARN and ERROR.
func countLogLevels(path string) (warn, errs int) {
	data, err := os.ReadFile(path)
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.Contains(line, "level=WARN"):
			warn++
		case strings.Contains(line, "level=ERROR"):
			errs++
		}
	}
	return warn, errs
}

func (r *scenarioResult) addRows(lat, load *table) {
	d := func(s deliverySummary) string {
		return fmt.Sprintf("%s / %s / %s", secs(s.delays.p50), secs(s.delays.p99), secs(s.delays.last))
	}
	total := r.single.arrived + r.single.missing + r.rack.arrived + r.rack.missing
	lat.add(r.kind, fmt.Sprintf("%d × %d", r.layout.racks, r.layout.perRack), r.watchers, d(r.single), d(r.rack),
		secs(r.rackLast), fmt.Sprintf("%s / %s", secs(r.rackEtcd.delays.first), secs(r.rackEtcd.delays.last)),
		fmt.Sprintf("%d/%d", r.single.arrived+r.rack.arrived, total),
		fmt.Sprintf("%d (%d watchers)", r.single.missing+r.rack.missing, r.single.watchersMissing+r.rack.watchersMissing),
		fmt.Sprintf("%d (%d watchers)", r.dups, r.dupW), fmt.Sprintf("%d (%d watchers)", r.unexp, r.unexpW), r.lostAlive)
	var fs, ff float64
	for _, p := range r.procs[1 : len(r.procs)-1] {
		fs += p.steadyCPU
		ff += p.failureCPU
	}
	etcd, gen := r.procs[0], r.procs[len(r.procs)-1]
	load.add(r.kind, fmt.Sprintf("%s / %s / %s", cores(etcd.steadyCPU), cores(fs), cores(gen.steadyCPU)),
		fmt.Sprintf("%s / %s", rate(r.steadyRecv), rate(r.steadySent)), r.steadyGCs,
		fmt.Sprintf("%s / %s / %s", cores(etcd.failureCPU), cores(ff), cores(gen.failureCPU)),
		fmt.Sprintf("%.0f / %.0f", r.failRecv, r.failSent), mib(etcd.rss[2]), r.streamErrs)
}

func (r *scenarioResult) procTable() string {
	t := newTable("process", "CPU steady / failures", "RSS started", "after leases", "after watchers", "bytes per lease",
		"bytes per watcher", "live heap started / leases / watchers", "live heap per lease (its grant + its key) / watcher", "log WARN / ERROR")
	for _, p := range r.procs {
		perLease, perWatcher, heap, heapPer := "—", "—", "—", "—"
		if p.pid != 0 {
			perLease = fmt.Sprintf("%d", (p.rss[1]-p.rss[0])/int64(max(1, p.leases)))
			perWatcher = fmt.Sprintf("%d", (p.rss[2]-p.rss[1])/int64(max(1, p.watchers)))
		}
		if p.heapURL != "" {
			heap = fmt.Sprintf("%s / %s / %s", mib(p.heap[0]), mib(p.heap[1]), mib(p.heap[2]))
			leases := int64(max(1, p.leases))
			heapPer = fmt.Sprintf("%d (%d + %d) / %d", (p.heap[1]-p.heap[0])/leases,
				(p.granted-p.heap[0])/leases, (p.heap[1]-p.granted)/leases,
				(p.heap[2]-p.heap[1])/int64(max(1, p.watchers)))
		}
		logs := "—"
		if p.hasLog {
			logs = fmt.Sprintf("%d / %d", p.logWarnings, p.logErrors)
		}
		t.add(p.name, fmt.Sprintf("%s / %s", cores(p.steadyCPU), cores(p.failureCPU)), mib(p.rss[0]), mib(p.rss[1]),
			mib(p.rss[2]), perLease, perWatcher, heap, heapPer, logs)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s:\n\n", r.kind)
	t.write(&sb)
	fmt.Fprintf(&sb, "\netcd gRPC messages received per second in the steady window, by method: %s\n\n", r.steadyRecvBy)
	return sb.String()
}

func mib(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }

// total is the sum of a reading's values.
func total(m map[string]float64) float64 {
	var sum float64
	for _, v := range m {
		sum += v
	}
	return sum
}

// etcdReading is one read of etcd's counters: gRPC messages received, per
// method, and sent (all methods), and its completed garbage collections.
type etcdReading struct {
	recvBy    map[string]float64
	sent, gcs float64
}

// readEtcd reads etcdReading from one fetch of etcd's metrics page at url.
func readEtcd(url string) (etcdReading, error) {
	var e etcdReading
	page, err := harness.Metrics(url)
	if err != nil {
		return e, err
	}
	if e.recvBy, err = sumMetricBy(page, metricMsgReceived, "grpc_method"); err != nil {
		return e, err
	}
	if e.sent, err = sumMetric(page, metricMsgSent, nil); err != nil {
		return e, err
	}
	e.gcs, err = sumMetric(page, metricGCCycles, nil)
	return e, err
}

// ratesBetween formats the per-key rates of two counter readings d apart,
// highest first ("Watch 8.0, Status 3.5"), leaving out the keys that did
// not move.
func ratesBetween(before, after map[string]float64, d time.Duration) string {
	type kr struct {
		key  string
		rate float64
	}
	var rs []kr
	for k, v := range after {
		if delta := v - before[k]; delta > 0 {
			rs = append(rs, kr{k, delta / d.Seconds()})
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		return rs[i].rate > rs[j].rate || rs[i].rate == rs[j].rate && rs[i].key < rs[j].key
	})
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%s %.1f", r.key, r.rate)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// heapProfile is where the heap profile of process i of the path kind goes
// at reading point (0 started, 1 leases, 2 watchers, -1 granted): under
// HERALD_BENCH_SCENARIO_HEAP_DIR, or nowhere.
func heapProfile(kind pathKind, i, point int) string {
	dir := os.Getenv(scHeapDirEnv)
	if dir == "" {
		return ""
	}
	names := map[int]string{-1: "granted", 0: "started", 1: "leases", 2: "watchers"}
	return filepath.Join(dir, fmt.Sprintf("%s-%d-%s.pb.gz", kind, i, names[point]))
}

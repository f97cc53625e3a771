package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

// The fleet-lease upstream-cost workload: R leased registrations spread over
// the fleet, kept alive, then left to expire.
const (
	defaultHeralds       = "3,6,12"
	defaultRegistrations = 500
	luTTL                = 3 * time.Second
	// luHold is how long the registrations are kept alive after the last
	// Put, inside the registration window.
	luHold     = 2 * luTTL
	luPrefix   = fanoutPrefix + "web/"
	luParallel = 16
	// luSettle is the quiet wait after the last key's DELETE before the
	// expiry window closes (the records and attachments go in the same or
	// earlier txns; this lets the feeders' responses land).
	luSettle = time.Second
	// luExpiryWait bounds the wait for every key's DELETE.
	luExpiryWait = 4*luTTL + 30*time.Second
)

// everything is a watch range over the whole keyspace, the reserved prefix
// "\x00herald/" included: key "\x00" with range end "\x00" (every key ≥ it).
var everything = watchRange{key: "\x00", end: "\x00"}

// BenchmarkFleetLeaseUpstreamCost counts what leased registrations cost etcd
// in watch messages and CPU, per registration and per expired lease, with
// fleets of N heralds (and direct to etcd, the floor: no fleet replicas).
func BenchmarkFleetLeaseUpstreamCost(b *testing.B) {
	skipUnlessEnabled(b)
	var paths []pathKind
	for _, p := range benchPaths(b) {
		if p != pathGRPCProxy { // grpc-proxy holds no replica; not part of this comparison
			paths = append(paths, p)
		}
	}
	sizes := envInts(b, heraldsEnv, defaultHeralds)
	regs := envInt(b, regsEnv, defaultRegistrations)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	treeAtBuild(root)
	printRunInfo(os.Stdout, "BenchmarkFleetLeaseUpstreamCost", root)

	fmt.Printf("R = %d registrations: each a lease of TTL %v granted through herald i mod N (one raw gRPC connection per "+
		"herald; direct: N connections to etcd), a Put of %s<i> with it through the same connection (%d in flight), "+
		"kept alive every TTL/3 for %v after the last Put (\"registration\" window, from before the first grant); then every "+
		"keepalive stops and the \"expiry\" window runs until every key's DELETE has reached a watcher of the whole keyspace "+
		"straight at etcd, plus %v; then %v with nothing happening (\"idle\"). \"active\" is the part of each window "+
		"spent granting and putting, or from the stop to the last key's DELETE. Heralds run with --fanout-prefix %s and --fanout-feeders 2 (the fan-out feed is on: "+
		"its feeders watch %s as well as the lease index's watch of the reserved prefix), --fleet-session-ttl at its "+
		"default (2 s). Fresh etcd and heralds per row pair.\n\n"+
		"- etcd events: the events (and distinct revisions) that watcher received in the window: every change etcd "+
		"made, reserved keys included;\n"+
		"- etcd Watch msgs: the delta of etcd's grpc_server_msg_sent_total{grpc_service=\"etcdserverpb.Watch\"} (every "+
		"message etcd sent on Watch streams: events, progress, created) minus the responses that watcher received "+
		"itself; \"− idle\" also subtracts the idle rate (the feeders' progress heartbeats) times the window;\n"+
		"- event copies: the delta of etcd_debugging_mvcc_events_total (events handed to watchers, one per watcher "+
		"that gets it) minus that watcher's events, per etcd event: how many watchers besides it got each event;\n"+
		"- feeder responses: herald_lease_index_upstream_watch_responses_total and "+
		"herald_fanout_upstream_watch_responses_total summed over the fleet;\n"+
		"- etcd CPU: utime+stime of the etcd process over the window (/proc/<pid>/stat, 10 ms ticks); \"− idle\" subtracts "+
		"the idle CPU rate times the window;\n"+
		"- etcd requests: etcd's grpc_server_msg_received_total, all methods (unary requests and stream messages), minus "+
		"the idle rate times the window; the idle rate itself is what the fleet asks of etcd with nothing happening (each "+
		"herald's session and carrier keepalives and its upstream path probe).\n"+
		"Direct to etcd has no fleet replica at all (etcd's own leases; no watcher but this one): it is the floor.\n\n",
		regs, luTTL, luPrefix, luParallel, luHold, luSettle, idleWindow, fanoutPrefix, fanoutPrefix)

	var all []luPhase
	for _, n := range sizes {
		t := newLUTable()
		for _, p := range paths {
			rows := runLeaseUpstream(b, p, n, regs)
			for _, row := range rows {
				t.add(row.cells()...)
			}
			all = append(all, rows...)
		}
		fmt.Printf("N = %d\n\n", n)
		t.write(os.Stdout)
		fmt.Println()
	}
	writeFlatness(all, sizes)
}

// luPhase is one window of the workload: what etcd did and sent in it.
type luPhase struct {
	path       pathKind
	n          int    // heralds (direct: connections)
	phase      string // "registration" or "expiry"
	items      int    // registrations or expired leases
	events     int64  // at the reference watcher
	revisions  int    // distinct revisions among them
	watchMsgs  float64
	active     time.Duration // granting and putting, or stop → last key's DELETE
	idle       luIdle
	copies     float64 // events handed to other watchers
	requests   float64 // messages etcd received, all methods
	index      float64 // lease-index feeder responses, fleet
	fanout     float64 // fan-out feeder responses, fleet
	etcdCPU    time.Duration
	window     time.Duration
	incomplete string // what did not happen, if anything
}

// luIdle is the rates measured with nothing happening.
type luIdle struct {
	watchMsgs float64 // etcd Watch msgs/s net of the reference watcher
	cpu       float64 // etcd cores
	requests  float64 // messages/s etcd received, all methods
}

func newLUTable() *table {
	return newTable("path", "N", "phase", "items", "etcd events (revisions)", "events / item",
		"etcd Watch msgs − mine", "msgs / item", "msgs / event", "msgs / event (− idle)", "event copies / event",
		"lease-index feeder responses / item", "fan-out feeder responses / item", "etcd requests / item (− idle)",
		"etcd CPU ms / item", "etcd CPU ms / item (− idle)", "window (active)")
}

func (p luPhase) perItem(v float64) string { return fmt.Sprintf("%.2f", v/float64(p.items)) }

func (p luPhase) perEvent(v float64) string {
	if p.events == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", v/float64(p.events))
}

func (p luPhase) netIdle() float64 { return p.watchMsgs - p.idle.watchMsgs*p.window.Seconds() }

func (p luPhase) netRequestsPerItem() string {
	return p.perItem(p.requests - p.idle.requests*p.window.Seconds())
}

func (p luPhase) cpuPerItem() string {
	return fmt.Sprintf("%.2f", float64(p.etcdCPU)/float64(time.Millisecond)/float64(p.items))
}

func (p luPhase) netCPUPerItem() string {
	net := p.etcdCPU.Seconds() - p.idle.cpu*p.window.Seconds()
	return fmt.Sprintf("%.2f", net*1000/float64(p.items))
}

func (p luPhase) cells() []any {
	feeder := func(v float64) string {
		if p.path != pathHerald {
			return "—"
		}
		return p.perItem(v)
	}
	return []any{p.path, p.n, p.phase, p.items, fmt.Sprintf("%d (%d)", p.events, p.revisions), p.perItem(float64(p.events)),
		fmt.Sprintf("%.0f", p.watchMsgs), p.perItem(p.watchMsgs), p.perEvent(p.watchMsgs), p.perEvent(p.netIdle()),
		p.perEvent(p.copies), feeder(p.index), feeder(p.fanout), p.netRequestsPerItem(), p.cpuPerItem(), p.netCPUPerItem(),
		fmt.Sprintf("%s (%s)", secs(p.window), secs(p.active))}
}

// luSnapshot is every counter the workload reads, at one instant.
type luSnapshot struct {
	at                time.Time
	watchMsgs, copies float64 // etcd's
	requests          float64 // etcd's grpc_server_msg_received_total, all methods
	mineMsgs          int64   // the reference watcher's responses
	mineEvents        int64
	arrivals          int // recorded arrivals so far
	index, fanout     float64
	etcdCPU           time.Duration
}

func (r *racks) luSnapshot(mine *watchFleet) (luSnapshot, error) {
	s := luSnapshot{at: time.Now()}
	var err error
	if s.watchMsgs, err = r.watchMessagesSent(); err != nil {
		return s, err
	}
	if s.copies, err = scrape(r.etcd.Member(0).MetricsURL()+"/metrics", metricEventsSent, nil); err != nil {
		return s, err
	}
	if s.requests, err = scrape(r.etcd.Member(0).MetricsURL()+"/metrics", metricMsgReceived, nil); err != nil {
		return s, err
	}
	if s.etcdCPU, err = cpuTime(r.etcd.Member(0).PID()); err != nil {
		return s, err
	}
	s.mineMsgs, s.mineEvents, s.arrivals = mine.responses.Load(), mine.events.Load(), len(mine.arrivals())
	if r.kind == pathHerald {
		if s.index, err = r.sumFrontMetric("herald_lease_index_upstream_watch_responses_total"); err != nil {
			return s, err
		}
		if s.fanout, err = r.sumFrontMetric("herald_fanout_upstream_watch_responses_total"); err != nil {
			return s, err
		}
	}
	return s, nil
}

// phaseBetween is what happened between snapshots a and b.
func phaseBetween(mine *watchFleet, a, b luSnapshot) luPhase {
	revs := map[int64]bool{}
	for _, ar := range mine.arrivals()[a.arrivals:b.arrivals] {
		revs[ar.rev] = true
	}
	mineEvents := b.mineEvents - a.mineEvents
	return luPhase{
		events:    mineEvents,
		revisions: len(revs),
		watchMsgs: (b.watchMsgs - a.watchMsgs) - float64(b.mineMsgs-a.mineMsgs),
		requests:  b.requests - a.requests,
		copies:    (b.copies - a.copies) - float64(mineEvents),
		index:     b.index - a.index,
		fanout:    b.fanout - a.fanout,
		etcdCPU:   b.etcdCPU - a.etcdCPU,
		window:    b.at.Sub(a.at),
	}
}

// runLeaseUpstream runs the workload on a fresh etcd with n heralds (or, for
// direct, n connections straight to etcd) and returns its two windows.
func runLeaseUpstream(b *testing.B, kind pathKind, n, regs int) []luPhase {
	b.Helper()
	r := startRacks(b, kind, n)
	defer r.stop()
	mine, err := openWatchers(r.etcd.Endpoints(), []watchRange{everything}, false, true)
	if err != nil {
		b.Fatalf("%s: %v", kind, err)
	}
	defer mine.close()
	var lists [][]string
	for _, ep := range r.endpoints {
		lists = append(lists, []string{ep})
	}
	fleet, err := dialFleet(lists, n, luTTL)
	if err != nil {
		b.Fatalf("%s: %v", kind, err)
	}
	defer fleet.close()
	time.Sleep(time.Second)

	s0, err := r.luSnapshot(mine)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g := fleet.grant(ctx, regs, luParallel)
	if g.failed > 0 {
		b.Fatalf("%s, N=%d: %d of %d grants failed, first: %v", kind, n, g.failed, regs, g.firstErr)
	}
	if err := fleet.putLeasedKeys(ctx, luPrefix, g.ids, luParallel); err != nil {
		b.Fatalf("%s, N=%d: %v", kind, n, err)
	}
	registered := time.Now()
	time.Sleep(luHold)
	s1, err := r.luSnapshot(mine)
	if err != nil {
		b.Fatal(err)
	}
	reg := phaseBetween(mine, s0, s1)
	reg.active = registered.Sub(s0.at)
	lostBefore := fleet.counters.lost.Load()

	stop := fleet.stopKeepAlives()
	deadline := stop.Add(luExpiryWait)
	gone, last := mine.deletedKeys(luPrefix)
	for gone < regs && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		gone, last = mine.deletedKeys(luPrefix)
	}
	time.Sleep(luSettle)
	s2, err := r.luSnapshot(mine)
	if err != nil {
		b.Fatal(err)
	}
	exp := phaseBetween(mine, s1, s2)
	exp.active = last.Sub(stop)

	// The idle rates, with the fleet in the state it held during the
	// workload (sessions and carriers granted).
	time.Sleep(luSettle)
	s3, err := r.luSnapshot(mine)
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(idleWindow)
	s4, err := r.luSnapshot(mine)
	if err != nil {
		b.Fatal(err)
	}
	quiet := phaseBetween(mine, s3, s4)
	idle := luIdle{
		watchMsgs: quiet.watchMsgs / quiet.window.Seconds(),
		cpu:       quiet.etcdCPU.Seconds() / quiet.window.Seconds(),
		requests:  quiet.requests / quiet.window.Seconds(),
	}
	fmt.Printf("%s, N=%d, idle after the workload: %.2f Watch msgs/s, %.1f etcd requests/s, %.3f etcd cores\n",
		kind, n, idle.watchMsgs, idle.requests, idle.cpu)
	if quiet.events > 0 {
		fmt.Printf("%s, N=%d: %d etcd events in the idle window\n", kind, n, quiet.events)
	}

	reg.phase, reg.items = "registration", regs
	exp.phase, exp.items = "expiry", regs
	for _, p := range []*luPhase{&reg, &exp} {
		p.path, p.n, p.idle = kind, n, idle
	}
	if lostBefore > 0 {
		reg.incomplete = fmt.Sprintf("%d leases answered TTL ≤ 0 while kept alive", lostBefore)
	}
	if gone < regs {
		exp.incomplete = fmt.Sprintf("only %d of %d keys deleted within %v of the stop", gone, regs, luExpiryWait)
	}
	for _, p := range []luPhase{reg, exp} {
		if p.incomplete != "" {
			fmt.Printf("%s, N=%d, %s: %s\n", kind, n, p.phase, p.incomplete)
		}
	}
	if h := mine.health(); h != "" {
		fmt.Printf("%s, N=%d: reference watcher: %s\n", kind, n, h)
	}
	return []luPhase{reg, exp}
}

// writeFlatness prints herald's per-item figures side by side over N, with
// the largest over the smallest of each column.
func writeFlatness(rows []luPhase, sizes []int) {
	t := newTable("phase", "N", "msgs / item", "msgs / event", "msgs / event (− idle)", "event copies / event",
		"lease-index feeder responses / item", "etcd requests / item (− idle)", "etcd CPU ms / item", "etcd CPU ms / item (− idle)",
		"idle: Watch msgs/s, etcd requests/s, etcd cores")
	for _, phase := range []string{"registration", "expiry"} {
		var msgs, perEvent, cpu []float64
		for _, n := range sizes {
			for _, p := range rows {
				if p.path != pathHerald || p.n != n || p.phase != phase {
					continue
				}
				t.add(phase, n, p.perItem(p.watchMsgs), p.perEvent(p.watchMsgs), p.perEvent(p.netIdle()),
					p.perEvent(p.copies), p.perItem(p.index), p.netRequestsPerItem(), p.cpuPerItem(), p.netCPUPerItem(),
					fmt.Sprintf("%.2f, %.1f, %.3f", p.idle.watchMsgs, p.idle.requests, p.idle.cpu))
				msgs = append(msgs, p.watchMsgs/float64(p.items))
				cpu = append(cpu, float64(p.etcdCPU)/float64(time.Millisecond)/float64(p.items))
				if p.events > 0 {
					perEvent = append(perEvent, p.watchMsgs/float64(p.events))
				}
			}
		}
		if len(msgs) > 1 {
			t.add(phase, "max ÷ min", spread(msgs), spread(perEvent), "", "", "", "", spread(cpu), "", "")
		}
	}
	if len(t.rows) == 0 {
		return
	}
	fmt.Printf("herald over N (flat in N: max ÷ min near ×1.00; goal ≤ 2 msgs per event)\n\n")
	t.write(os.Stdout)
	fmt.Println()
}

// spread is max ÷ min of vs as "×N.NN" ("—" when undefined).
func spread(vs []float64) string {
	if len(vs) < 2 {
		return "—"
	}
	return ratio(slices.Max(vs), slices.Min(vs))
}

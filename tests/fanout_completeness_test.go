package tests

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// completenessSpec is one watcher shape that every herald serves.
type completenessSpec struct {
	name      string
	key, end  string // end "" watches key alone
	prevKV    bool
	noPut     bool
	noDelete  bool
	fromStart bool // WithRev(start) rather than from the created revision
}

var completenessSpecs = []completenessSpec{
	{name: "prefix+prev", key: fanoutPrefix, end: clientv3.GetPrefixRangeEnd(fanoutPrefix), prevKV: true, fromStart: true},
	{name: "prefix live", key: fanoutPrefix, end: clientv3.GetPrefixRangeEnd(fanoutPrefix)},
	{name: "key k3+prev", key: "/services/k3", prevKV: true, fromStart: true},
	{name: "range k2..k6", key: "/services/k2", end: "/services/k6"},
	{name: "lease keys", key: "/services/lease/", end: clientv3.GetPrefixRangeEnd("/services/lease/"), fromStart: true},
	{name: "deletes only+prev", key: fanoutPrefix, end: clientv3.GetPrefixRangeEnd(fanoutPrefix), noPut: true, prevKV: true, fromStart: true},
	{name: "puts only", key: "/services/k", end: "/services/l", noDelete: true},
}

func (s completenessSpec) contains(key []byte) bool {
	if s.end == "" {
		return string(key) == s.key
	}
	return bytes.Compare(key, []byte(s.key)) >= 0 && bytes.Compare(key, []byte(s.end)) < 0
}

func (s completenessSpec) options(start int64) []clientv3.OpOption {
	opts := []clientv3.OpOption{clientv3.WithCreatedNotify()}
	if s.end != "" {
		opts = append(opts, clientv3.WithRange(s.end))
	}
	if s.prevKV {
		opts = append(opts, clientv3.WithPrevKV())
	}
	if s.noPut {
		opts = append(opts, clientv3.WithFilterPut())
	}
	if s.noDelete {
		opts = append(opts, clientv3.WithFilterDelete())
	}
	if s.fromStart {
		opts = append(opts, clientv3.WithRev(start))
	}
	return opts
}

// describeEvent is an event in comparable form. The lease is left out: a
// key written with a virtual lease shows it through herald and the carrier
// at etcd.
func describeEvent(ev *mvccpb.Event, prevKV bool) string {
	s := fmt.Sprintf("%s %s=%q mod=%d create=%d ver=%d", ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision, ev.Kv.CreateRevision, ev.Kv.Version)
	if prevKV && ev.PrevKv != nil {
		s += fmt.Sprintf(" prev=%q@%d/%d/v%d", ev.PrevKv.Value, ev.PrevKv.ModRevision, ev.PrevKv.CreateRevision, ev.PrevKv.Version)
	}
	return s
}

// streamRecord is what one watcher received.
type streamRecord struct {
	herald string
	spec   completenessSpec

	mu      sync.Mutex
	events  []string
	revs    []int64
	created int64
	errs    []string
	closed  bool
}

func (r *streamRecord) name() string { return r.herald + "/" + r.spec.name }

func (r *streamRecord) run(wch clientv3.WatchChan) {
	for resp := range wch {
		r.mu.Lock()
		if resp.Created && r.created == 0 {
			r.created = resp.Header.Revision
		}
		if err := resp.Err(); err != nil {
			r.errs = append(r.errs, err.Error())
		}
		for _, ev := range resp.Events {
			r.events = append(r.events, describeEvent((*mvccpb.Event)(ev), r.spec.prevKV))
			r.revs = append(r.revs, ev.Kv.ModRevision)
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

func (r *streamRecord) snapshot() (events []string, revs []int64, created int64, errs []string, closed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events), slices.Clone(r.revs), r.created, slices.Clone(r.errs), r.closed
}

// reference is etcd's own history of the fan-out prefix, from a direct
// watch with prev_kv from the run's start revision.
type reference struct {
	mu     sync.Mutex
	events []*mvccpb.Event
	errs   []string
}

func (r *reference) run(wch clientv3.WatchChan) {
	for resp := range wch {
		r.mu.Lock()
		if err := resp.Err(); err != nil {
			r.errs = append(r.errs, err.Error())
		}
		for _, ev := range resp.Events {
			r.events = append(r.events, (*mvccpb.Event)(ev))
		}
		r.mu.Unlock()
	}
}

func (r *reference) lastRev() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return 0
	}
	return r.events[len(r.events)-1].Kv.ModRevision
}

// expected is what a watcher of spec that starts at revision from must
// receive, through revision upto: etcd's history filtered as etcd's
// watchers filter (range, NOPUT/NODELETE, prev_kv).
func (r *reference) expected(spec completenessSpec, from, upto int64) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		if ev.Kv.ModRevision < from || ev.Kv.ModRevision > upto || !spec.contains(ev.Kv.Key) {
			continue
		}
		if (spec.noPut && ev.Type == mvccpb.PUT) || (spec.noDelete && ev.Type == mvccpb.DELETE) {
			continue
		}
		out = append(out, describeEvent(ev, spec.prevKV))
	}
	return out
}

// selfCheck fails t if etcd's own history is not in revision order with
// each (revision, key) once: the reference must be right for the rest to
// mean anything.
func (r *reference) selfCheck(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	type id struct {
		rev int64
		key string
	}
	seen := map[id]bool{}
	var last int64
	for i, ev := range r.events {
		k := id{ev.Kv.ModRevision, string(ev.Kv.Key)}
		if ev.Kv.ModRevision < last || seen[k] {
			t.Fatalf("reference watch: event %d (%s) out of order or repeated", i, describeEvent(ev, true))
		}
		seen[k], last = true, ev.Kv.ModRevision
	}
	if len(r.errs) > 0 {
		t.Logf("reference watch errors (clientv3 resumed): %q", r.errs)
	}
}

// workloadStats counts what the writers did.
type workloadStats struct {
	ops, failed, leases atomic.Int64
	errMu               sync.Mutex
	firstErrs           []string
}

func (s *workloadStats) fail(err error) {
	s.failed.Add(1)
	s.errMu.Lock()
	if len(s.firstErrs) < 5 {
		s.firstErrs = append(s.firstErrs, err.Error())
	}
	s.errMu.Unlock()
}

// writeLoop drives puts, deletes, range deletes, multi-key txns and, with
// leases, puts attached to TTL-2 leases that are never kept alive (they
// expire during the run), plus writes outside the prefix, until ctx ends.
func writeLoop(ctx context.Context, cli *clientv3.Client, seed uint64, leases bool, st *workloadStats) {
	rng := rand.New(rand.NewPCG(seed, 99))
	key := func() string { return fmt.Sprintf("/services/k%d", rng.IntN(10)) }
	for i := 0; ctx.Err() == nil; i++ {
		v := fmt.Sprintf("w%d-%d", seed, i)
		a, b, c := rng.IntN(10), rng.IntN(10), rng.IntN(10)
		if a == b || b == c || a == c {
			a, b, c = 7, 8, 9
		}
		opCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var err error
		switch n := rng.IntN(20); {
		case n < 8:
			_, err = cli.Put(opCtx, key(), v)
		case n < 11:
			_, err = cli.Delete(opCtx, key())
		case n < 12:
			_, err = cli.Delete(opCtx, "/services/k2", clientv3.WithRange("/services/k5"))
		case n < 15:
			_, err = cli.Txn(opCtx).Then(
				clientv3.OpPut(fmt.Sprintf("/services/k%d", a), v),
				clientv3.OpPut(fmt.Sprintf("/services/k%d", b), v),
				clientv3.OpDelete(fmt.Sprintf("/services/k%d", c))).Commit()
		case n < 17 && leases:
			var g *clientv3.LeaseGrantResponse
			if g, err = cli.Grant(opCtx, 2); err == nil {
				st.leases.Add(1)
				_, err = cli.Put(opCtx, fmt.Sprintf("/services/lease/%d-%d", seed, i), v, clientv3.WithLease(g.ID))
				if err == nil && rng.IntN(2) == 0 {
					_, err = cli.Put(opCtx, fmt.Sprintf("/services/lease/%d-%d-b", seed, i), v, clientv3.WithLease(g.ID))
				}
			}
		default:
			_, err = cli.Put(opCtx, fmt.Sprintf("/other/k%d", rng.IntN(5)), v)
		}
		cancel()
		st.ops.Add(1)
		if err != nil && ctx.Err() == nil {
			st.fail(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(15 * time.Millisecond):
		}
	}
}

// completenessRun is one scenario: an etcd cluster, a fleet, a reference
// watch, watchers on every herald, writers, and a fault.
type completenessRun struct {
	t        *testing.T
	etcd     *harness.EtcdCluster
	fleet    []*fleetHerald
	admin    *clientv3.Client
	start    int64
	ref      *reference
	records  []*streamRecord
	excluded map[string]bool // heralds whose watchers are not checked
	clients  map[string][]*clientv3.Client
	stats    workloadStats
}

// scenarioOptions describe one completeness scenario.
type scenarioOptions struct {
	etcdMembers int
	heraldArgs  []string
	// fault, when set, replaces the plain wait while the writers run for
	// d: it waits, injects its fault, and returns when the writers should
	// stop.
	fault func(run *completenessRun, d time.Duration)
	// during runs alongside the workload until ctx ends.
	during func(ctx context.Context, run *completenessRun)
}

// workloadDuration is how long the writers run in one scenario.
func workloadDuration() time.Duration {
	if longRun() {
		return 90 * time.Second
	}
	return 12 * time.Second
}

// runCompleteness starts etcd and a fleet of three heralds, a reference
// watch at etcd, completenessSpecs' watchers on every herald (two clients
// per herald, each one stream), runs the writers with the scenario's fault,
// marks the end with a last write and checks every watcher against etcd's
// history up to it.
func runCompleteness(t *testing.T, so scenarioOptions) {
	// Each scenario has its own etcd and fleet, and spends most of its
	// time waiting for writers, TTLs and faults: they run side by side.
	t.Parallel()
	began := time.Now()
	c := harness.StartEtcd(t, harness.EtcdOptions{Members: max(so.etcdMembers, 1)})
	run := &completenessRun{t: t, etcd: c, excluded: map[string]bool{}, clients: map[string][]*clientv3.Client{}}
	run.fleet = startFleet(t, 3, c.Endpoints(), so.heraldArgs...)
	run.admin = harness.Client(t, c.Endpoints()...)
	t.Logf("fleet up after %v; feeders %v", time.Since(began).Round(time.Millisecond), feeders(t, run.fleet))

	head := mustPut(t, run.admin, "/services/k0", "seed")
	run.start = head.Header.Revision + 1

	ctx, stopWatches := context.WithCancel(context.Background())
	defer stopWatches()
	run.ref = &reference{}
	// From the first revision: a live watcher's start is its created
	// revision + 1, which a herald whose cache lags may place before
	// run.start.
	go run.ref.run(run.admin.Watch(ctx, fanoutPrefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(1)))

	// Two clients per herald, each one stream holding half of the specs.
	for _, h := range run.fleet {
		for half := range 2 {
			cli := harness.Client(t, h.Endpoint())
			run.clients[h.name] = append(run.clients[h.name], cli)
			for j, spec := range completenessSpecs {
				if j%2 != half {
					continue
				}
				r := &streamRecord{herald: h.name, spec: spec}
				run.records = append(run.records, r)
				go r.run(cli.Watch(ctx, spec.key, spec.options(run.start)...))
			}
		}
	}
	for _, r := range run.records {
		waitUntil(t, "watch "+r.name()+" created", 30*time.Second, func() bool {
			_, _, created, _, _ := r.snapshot()
			return created > 0
		})
	}

	// Writers: one straight at etcd, one through a herald (with leases) that
	// stays up; the scenario may kill the others.
	wctx, stopWriters := context.WithCancel(context.Background())
	defer stopWriters()
	var wg sync.WaitGroup
	survivor := run.survivor()
	writers := []struct {
		cli    *clientv3.Client
		leases bool
	}{{run.admin, false}, {harness.Client(t, run.fleet[survivor].Endpoint()), true}}
	for i, w := range writers {
		wg.Add(1)
		go func() { defer wg.Done(); writeLoop(wctx, w.cli, uint64(i+1), w.leases, &run.stats) }()
	}
	if so.during != nil {
		wg.Add(1)
		go func() { defer wg.Done(); so.during(wctx, run) }()
	}
	d := workloadDuration()
	if so.fault != nil {
		so.fault(run, d)
	} else {
		time.Sleep(d)
	}
	stopWriters()
	wg.Wait()
	t.Logf("workload: %d ops, %d failed (first errors %q), %d leases granted", run.stats.ops.Load(), run.stats.failed.Load(), run.stats.firstErrs, run.stats.leases.Load())

	// Let the TTL-2 leases expire, then mark the end.
	run.waitLeasesExpired(writers[1].cli)
	end := mustPut(t, run.admin, "/services/~end", "end").Header.Revision
	waitUntil(t, "reference reaches the end marker", 60*time.Second, func() bool { return run.ref.lastRev() >= end })
	run.ref.selfCheck(t)
	run.check(end)
	t.Logf("%d events in etcd's history, %d watchers checked; %s; scenario took %v",
		len(run.ref.expected(completenessSpecs[0], 1, end)), len(run.records)-run.excludedCount(), fleetMetrics(run.fleet), time.Since(began).Round(time.Millisecond))
}

// leaseExpiryPatience bounds how long the TTL-2 leases granted during the
// run may take to expire once the writers stop (TTL + herald's expiry bound
// is a few seconds).
const leaseExpiryPatience = 30 * time.Second

// waitLeasesExpired waits until no key under /services/lease/ is left; if
// some are after leaseExpiryPatience, it fails the test with the keys, their
// leases as the lease writer's herald (cli) shows them and what TimeToLive
// says of those leases, and goes on: the watchers are still checked.
func (run *completenessRun) waitLeasesExpired(cli *clientv3.Client) {
	t := run.t
	t.Helper()
	stopped := time.Now()
	deadline := stopped.Add(leaseExpiryPatience)
	for {
		resp, err := run.admin.Get(ctxT(t), "/services/lease/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err == nil && resp.Count == 0 {
			t.Logf("all leased keys gone %v after the writers stopped", time.Since(stopped).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := cli.Get(ctxT(t), "/services/lease/", clientv3.WithPrefix())
	if err != nil {
		t.Errorf("leased keys still there %v after the writers stopped; listing them: %v", leaseExpiryPatience, err)
		return
	}
	var desc []string
	for i, kv := range resp.Kvs {
		d := fmt.Sprintf("%s lease=%x create=%d", kv.Key, kv.Lease, kv.CreateRevision)
		if i < 5 && kv.Lease != 0 {
			ttl, err := cli.TimeToLive(ctxT(t), clientv3.LeaseID(kv.Lease))
			if err != nil {
				d += fmt.Sprintf(" (TimeToLive: %v)", err)
			} else {
				d += fmt.Sprintf(" (TimeToLive: ttl=%d granted=%d)", ttl.TTL, ttl.GrantedTTL)
			}
		}
		desc = append(desc, d)
	}
	t.Errorf("%d leased keys (TTL 2, never kept alive) still there %v after the writers stopped (%d leases granted):\n\t%s",
		len(resp.Kvs), leaseExpiryPatience, run.stats.leases.Load(), strings.Join(desc, "\n\t"))
}

// survivor is the herald that no scenario kills (they kill the first feeder
// or the first non-feeder): the lease writer's, and the failover target.
func (run *completenessRun) survivor() int {
	nf := nonFeeders(run.t, run.fleet)
	f := feeders(run.t, run.fleet)
	// Keep clear of the first feeder and the first non-feeder (the victims).
	for i := range run.fleet {
		if (len(f) == 0 || i != f[0]) && (len(nf) == 0 || i != nf[0]) {
			return i
		}
	}
	return len(run.fleet) - 1
}

func (run *completenessRun) excludedCount() int {
	n := 0
	for _, r := range run.records {
		if run.excluded[r.herald] {
			n++
		}
	}
	return n
}

// check waits until every watcher of a checked herald has received exactly
// its share of etcd's history through end; it fails at once on a stream that
// has diverged (a wrong, missing, reordered or repeated event), and after
// 60 s on one that stalls.
func (run *completenessRun) check(end int64) {
	t := run.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	pending := slices.Clone(run.records)
	for len(pending) > 0 {
		var still []*streamRecord
		for _, r := range pending {
			if run.excluded[r.herald] {
				continue
			}
			got, revs, created, errs, closed := r.snapshot()
			from := run.start
			if !r.spec.fromStart {
				from = created + 1
			}
			want := run.ref.expected(r.spec, from, end)
			// Events after end (none are written) would not be compared.
			n := len(got)
			for n > 0 && revs[n-1] > end {
				n--
			}
			got = got[:n]
			if i := firstDiff(got, want); i < len(got) {
				t.Errorf("watcher %s (from revision %d, created at %d): event %d differs\n got: %s\nwant: %s\ncontext: got %s\n        want %s\nstream errors %q",
					r.name(), from, created, i, at(got, i), at(want, i), window(got, i), window(want, i), errs)
				continue
			}
			if len(got) == len(want) {
				continue
			}
			if closed || time.Now().After(deadline) {
				t.Errorf("watcher %s (from revision %d, created at %d): %d of %d events (closed %v); first missing: %s; stream errors %q",
					r.name(), from, created, len(got), len(want), closed, at(want, len(got)), errs)
				continue
			}
			still = append(still, r)
		}
		pending = still
		if len(pending) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// firstDiff is the first index where got differs from want, or len(got)
// when got is a prefix of want.
func firstDiff(got, want []string) int {
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return i
		}
	}
	return len(got)
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

func window(s []string, i int) string {
	lo, hi := max(i-2, 0), min(i+3, len(s))
	if lo >= hi {
		return "(none)"
	}
	return "\n\t" + strings.Join(s[lo:hi], "\n\t")
}

// waitUntil is harness.WaitUntil, the one wait helper of the tests.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	harness.WaitUntil(t, what, d, cond)
}

// TestFanoutCompleteness runs writers (puts, deletes, range deletes,
// multi-key txns, leases that expire) against a fleet of three heralds
// with --fanout-prefix /services/, with seven watchers of different shapes
// on every herald, and checks that each watcher receives exactly etcd's
// history for its range (from a direct reference watch): the same events,
// in order, once each. Each subtest adds one fault. HERALD_LONG=1 runs each
// for 90 s instead of 12 s.
func TestFanoutCompleteness(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	third := func(d time.Duration) time.Duration { return d / 3 }

	t.Run("baseline", func(t *testing.T) {
		runCompleteness(t, scenarioOptions{})
	})

	// The fleet runs two feeders by default: killing one leaves the other
	// feeding while a third takes over; with one, the new feeder must resume
	// exactly where the dead one stopped.
	for _, n := range []int{2, 1} {
		t.Run(fmt.Sprintf("feeder killed (%d feeders)", n), func(t *testing.T) {
			runCompleteness(t, scenarioOptions{heraldArgs: []string{"--fanout-feeders", fmt.Sprint(n)}, fault: func(run *completenessRun, d time.Duration) {
				time.Sleep(third(d))
				f := feeders(t, run.fleet)
				if len(f) == 0 {
					t.Fatalf("no feeder to kill (%s)", fleetMetrics(run.fleet))
				}
				victim := run.fleet[f[0]]
				t.Logf("kill -9 feeder %s (pid %d); feeders were %v", victim.name, victim.PID(), f)
				run.excluded[victim.name] = true
				victim.Kill()
				killed := time.Now()
				waitUntil(t, "a new feeder", fleetPatience, func() bool { return len(feeders(t, run.fleet)) == n })
				t.Logf("feeders after the kill: %v (%v later)", feeders(t, run.fleet), time.Since(killed).Round(time.Millisecond))
				time.Sleep(max(d-third(d)-time.Since(killed), time.Second))
			}})
		})
	}

	t.Run("non-feeder killed, clients fail over", func(t *testing.T) {
		runCompleteness(t, scenarioOptions{fault: func(run *completenessRun, d time.Duration) {
			nf := nonFeeders(t, run.fleet)
			if len(nf) == 0 {
				t.Fatalf("no non-feeder (%s)", fleetMetrics(run.fleet))
			}
			victim := run.fleet[nf[0]]
			other := run.fleet[run.survivor()]
			// The streams are open on the victim; from now on its clients
			// may also use another herald, which they will after the kill.
			for _, cli := range run.clients[victim.name] {
				cli.SetEndpoints(victim.Endpoint(), other.Endpoint())
			}
			time.Sleep(third(d))
			streams, _ := metricValue(victim.MetricsURL()+"/metrics", `herald_proxy_streams_active{method="/etcdserverpb.Watch/Watch"}`)
			t.Logf("kill -9 non-feeder %s (pid %d, %g watch streams open); its clients fail over to %s", victim.name, victim.PID(), streams, other.name)
			victim.Kill()
			time.Sleep(d - third(d))
		}})
	})

	t.Run("loss and delay between heralds", func(t *testing.T) {
		runCompleteness(t, scenarioOptions{heraldArgs: []string{"--test-gossip-loss", "0.1", "--test-gossip-delay-min", "10ms", "--test-gossip-delay-max", "20ms"}})
	})

	t.Run("etcd leader change", func(t *testing.T) {
		runCompleteness(t, scenarioOptions{etcdMembers: 3, fault: func(run *completenessRun, d time.Duration) {
			time.Sleep(third(d))
			leader := leaderIndex(t, run.admin, run.etcd)
			m := run.etcd.Member(leader)
			t.Logf("kill -9 etcd leader %s (pid %d)", m.Name(), m.PID())
			m.Kill()
			time.Sleep(third(d))
			m.Restart()
			t.Logf("etcd member %s restarted; leader now %d", m.Name(), leaderIndex(t, run.admin, run.etcd))
			time.Sleep(third(d))
		}})
	})

	t.Run("compaction during the run", func(t *testing.T) {
		var compactions atomic.Int64
		runCompleteness(t, scenarioOptions{during: func(ctx context.Context, run *completenessRun) {
			for ctx.Err() == nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				resp, err := run.admin.Get(ctx, "compaction-probe")
				if err != nil || resp.Header.Revision-20 <= run.start {
					continue
				}
				if _, err := run.admin.Compact(ctx, resp.Header.Revision-20); err == nil {
					compactions.Add(1)
				}
			}
		}})
		t.Logf("%d compactions during the run", compactions.Load())
	})
}

// TestCompletenessCheckerCatchesFaults feeds the checker's comparison a
// synthetic history: a stream with a missing, a repeated, a reordered or a
// wrong prev_kv event must differ from what it expects, and the filters
// and ranges must select what etcd's watchers would. No process is started.
func TestCompletenessCheckerCatchesFaults(t *testing.T) {
	kv := func(key, val string, mod, create, ver int64) *mvccpb.KeyValue {
		return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(val), ModRevision: mod, CreateRevision: create, Version: ver}
	}
	ref := &reference{events: []*mvccpb.Event{
		{Type: mvccpb.PUT, Kv: kv("/services/k1", "a", 2, 2, 1)},
		{Type: mvccpb.PUT, Kv: kv("/services/k3", "b", 3, 3, 1)},
		{Type: mvccpb.PUT, Kv: kv("/services/k1", "c", 4, 2, 2), PrevKv: kv("/services/k1", "a", 2, 2, 1)},
		{Type: mvccpb.DELETE, Kv: kv("/services/k3", "", 4, 0, 0), PrevKv: kv("/services/k3", "b", 3, 3, 1)},
		{Type: mvccpb.PUT, Kv: kv("/services/lease/x", "d", 5, 5, 1)},
	}}
	all := completenessSpecs[0] // prefix with prev_kv
	want := ref.expected(all, 1, 5)
	if len(want) != 5 {
		t.Fatalf("prefix: %d events, want 5", len(want))
	}
	for name, got := range map[string][]string{
		"missing":   {want[0], want[2], want[3], want[4]},
		"repeated":  {want[0], want[1], want[1], want[2], want[3], want[4]},
		"reordered": {want[0], want[2], want[1], want[3], want[4]},
		"prev_kv":   {want[0], want[1], describeEvent(ref.events[2], false), want[3], want[4]},
	} {
		if i := firstDiff(got, want); i == len(got) && len(got) == len(want) {
			t.Errorf("%s: a faulty stream passes", name)
		}
	}
	for _, tc := range []struct {
		spec completenessSpec
		from int64
		n    int
	}{
		{completenessSpecs[2], 1, 2}, // key k3: PUT, DELETE
		{completenessSpecs[3], 1, 2}, // range k2..k6: k3 twice, k1 is outside
		{completenessSpecs[4], 1, 1}, // lease keys
		{completenessSpecs[5], 1, 1}, // deletes only
		{completenessSpecs[6], 1, 3}, // puts only, /services/k*
		{completenessSpecs[0], 4, 3}, // from revision 4
	} {
		if got := ref.expected(tc.spec, tc.from, 5); len(got) != tc.n {
			t.Errorf("%s from %d: %d events %q, want %d", tc.spec.name, tc.from, len(got), got, tc.n)
		}
	}
}

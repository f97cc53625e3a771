package feed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream"
)

// TestFeedAlone runs a herald without a fleet: it is its own feeder, its
// replica follows etcd, and while etcd is idle the heartbeats keep coming.
func TestFeedAlone(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	put(t, p+"before", "1")
	r := newReplica()
	m, _ := NewMetrics(nil, "test")
	f := startFeed(t, Config{Name: "h1", Prefixes: []string{p}, Sink: r, Metrics: m, ProgressEvery: 100 * time.Millisecond})
	if loads, _ := r.loadsAndCompactRev(); loads != 1 || !slices.Contains(r.content(), p+"before=1") {
		t.Fatalf("after Start: %d loads, %q", loads, r.content())
	}
	harness.WaitUntil(t, "the herald to feed", harness.DefaultPatience, f.IsFeeder)
	rev := workload(t, p, 100, 1)
	waitConverged(t, "alone", r, rev, p)
	if value(m.Feeding) != 1 {
		t.Error("herald_test_feeding is not 1")
	}
	// Idle: a heartbeat every ProgressEvery (here 100 ms), with no write to
	// cut a batch from; a feed that stopped when etcd went quiet would never
	// get there.
	before := value(m.Batches)
	harness.WaitUntil(t, "two heartbeats while etcd is idle", harness.DefaultPatience, func() bool {
		return value(m.Batches)-before >= 2
	})
	f.Close()
	if f.IsFeeder() || value(m.Feeding) != 0 {
		t.Error("still feeding after Close")
	}
}

// TestFeedFleetRepairsLoss runs three heralds on a bus that loses 30 % of
// the batches: every replica follows etcd, the non-feeders repairing from
// etcd; when the feeder leaves, another takes over and nothing is lost.
func TestFeedFleetRepairsLoss(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	bus := newMemBus(7)
	bus.loss = 0.3
	names := []string{"h1", "h2", "h3"}
	feeds, replicas := map[string]*Feed{}, map[string]*replica{}
	metrics := map[string]*Metrics{}
	for _, name := range names {
		replicas[name] = newReplica()
		metrics[name], _ = NewMetrics(nil, "test")
		feeds[name] = startFeed(t, Config{
			Name: name, Prefixes: []string{p}, Feeders: 1, RepairDelay: 50 * time.Millisecond,
			Bus: bus.join(name), Sink: replicas[name], Metrics: metrics[name],
		})
	}
	feeder := func() []string {
		var out []string
		for _, name := range names {
			if feeds[name].IsFeeder() {
				out = append(out, name)
			}
		}
		return out
	}
	harness.WaitUntil(t, "one feeder", harness.DefaultPatience, func() bool { return len(feeder()) == 1 })
	rev := workload(t, p, 200, 2)
	for _, name := range names {
		waitConverged(t, name, replicas[name], rev, p)
	}
	var repairs float64
	for _, m := range metrics {
		repairs += value(m.Repairs)
	}
	if repairs == 0 {
		t.Error("30 % loss and no repair from etcd")
	}

	// The feeder goes: another takes over.
	gone := feeder()[0]
	feeds[gone].Close()
	bus.leave(gone)
	harness.WaitUntil(t, "a new feeder", harness.DefaultPatience, func() bool { f := feeder(); return len(f) == 1 && f[0] != gone })
	rev = workload(t, p, 100, 3)
	for _, name := range names {
		if name != gone {
			waitConverged(t, name+" after the handover", replicas[name], rev, p)
		}
	}
}

// TestFeedHeartbeatRevealsALostLastBatch loses the last batch of a burst on
// its way to a non-feeder: no later batch comes on an idle cluster, so
// only the feeder's heartbeat can tell it, and the repair fetches it.
func TestFeedHeartbeatRevealsALostLastBatch(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	bus := newMemBus(1)
	var feeds []*Feed
	var replicas []*replica
	for _, name := range []string{"h1", "h2"} {
		r := newReplica()
		feeds = append(feeds, startFeed(t, Config{
			Name: name, Prefixes: []string{p}, Feeders: 1, RepairDelay: 50 * time.Millisecond,
			Bus: bus.join(name), Sink: r,
		}))
		replicas = append(replicas, r)
	}
	harness.WaitUntil(t, "one feeder", harness.DefaultPatience, func() bool { return feeds[0].IsFeeder() != feeds[1].IsFeeder() })
	follower := 0
	if feeds[0].IsFeeder() {
		follower = 1
	}
	rev := put(t, p+"a", "1")
	waitConverged(t, "before the loss", replicas[follower], rev, p)
	lost := make(chan struct{})
	bus.setDrop(func(_ string, b fanout.Batch) bool {
		if len(b.Events) == 0 {
			return false
		}
		select {
		case <-lost:
			return false // only the first
		default:
			close(lost)
			return true
		}
	})
	rev = put(t, p+"b", "2")
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the batch was never broadcast")
	}
	waitConverged(t, "after the loss", replicas[follower], rev, p)
}

// TestFeedReloadsAfterCompaction makes a non-feeder miss batches that etcd
// then compacts away: its repair finds them compacted, and it reloads. The
// feeds run on a manual clock: nothing is repaired before the compaction
// because no time passes until the test moves the clock.
func TestFeedReloadsAfterCompaction(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	bus := newMemBus(2)
	clk := clock.NewManual(time.Now())
	var feeds []*Feed
	var replicas []*replica
	for _, name := range []string{"h1", "h2"} {
		r := newReplica()
		feeds = append(feeds, startFeed(t, Config{
			Name: name, Prefixes: []string{p}, Feeders: 1, RepairDelay: 2 * time.Second,
			Bus: bus.join(name), Sink: r, Clock: clk,
		}))
		replicas = append(replicas, r)
	}
	harness.WaitUntil(t, "one feeder", harness.DefaultPatience, func() bool { return feeds[0].IsFeeder() != feeds[1].IsFeeder() })
	follower := 0
	if feeds[0].IsFeeder() {
		follower = 1
	}
	name := []string{"h1", "h2"}[follower]
	// The follower gets heartbeats and progress, never events.
	bus.setDrop(func(to string, b fanout.Batch) bool { return to == name && len(b.Events) > 0 })
	put(t, p+"a", "1")
	put(t, p+"b", "2")
	rev := put(t, p+"c", "3")
	compact(t, rev)
	// The feeder's heartbeat shows the follower its gap; RepairDelay later
	// the follower repairs it from etcd.
	r := replicas[follower]
	harness.AdvanceUntil(t, clk, 100*time.Millisecond, "the follower at the compacted revision", harness.DefaultPatience,
		func() bool { return r.Rev() >= rev })
	waitConverged(t, "after the compaction", r, rev, p)
	if loads, compact := r.loadsAndCompactRev(); loads != 2 || compact != rev {
		t.Fatalf("%d loads and compact revision %d, want a reload and %d", loads, compact, rev)
	}
}

// TestFeedWatchesOnPastItsOwnCompactedRevision compacts etcd one revision
// past the feeder's replica: the feeder's watch from the replica's own
// revision is refused, and it goes on from the next one without reloading
// (a reload would read the same revision; on ZooKeeper, whose history
// starts above the revision it dialled at, it looped so).
func TestFeedWatchesOnPastItsOwnCompactedRevision(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	r := newReplica()
	// A manual clock that never moves: no heartbeat moves the replica.
	f := startFeed(t, Config{Name: "h1", Prefixes: []string{p}, Sink: r, Clock: clock.NewManual(time.Now())})
	harness.WaitUntil(t, "the herald to feed", harness.DefaultPatience, f.IsFeeder)
	own := r.Rev()
	past := put(t, prefix(t.Name()+"-elsewhere")+"k", "x")
	if past != own+1 {
		t.Fatalf("a write elsewhere took revision %d, want %d (another writer?)", past, own+1)
	}
	compact(t, past)
	f.Reconnect() // the watch reopens from the replica's revision, now compacted
	rev := put(t, p+"after", "1")
	waitConverged(t, "after the compaction", r, rev, p)
	if loads, compact := r.loadsAndCompactRev(); loads != 1 || compact != past {
		t.Fatalf("%d loads and compact revision %d, want 1 load and %d", loads, compact, past)
	}
}

// TestFeedCutsExactlyAcrossPrefixes feeds two overlapping prefixes and a
// third: a txn over all of them arrives in one batch, each event once.
func TestFeedCutsExactlyAcrossPrefixes(t *testing.T) {
	checkNoLeaks(t)
	base := prefix(t.Name())
	a, ab, c := base+"a/", base+"a/b/", base+"c/"
	r := newReplica()
	startFeed(t, Config{Name: "h1", Prefixes: []string{a, ab, c}, Sink: r})
	var rev int64
	for i := range 30 {
		v := fmt.Sprint(i)
		switch i % 3 {
		case 0:
			rev = txnPut(t, v, a+"x", ab+"y", c+"z")
		case 1:
			rev = put(t, ab+"y", v)
		case 2:
			rev = txnPut(t, v, c+"z", a+"x")
		}
	}
	waitConverged(t, "three prefixes", r, rev, a, ab, c)
	r.mu.Lock()
	defer r.mu.Unlock()
	batchOf := map[int64]int{} // revision → the batch that had it
	seen := map[string]bool{}
	for i, b := range r.applied {
		for _, ev := range b.Events {
			id := fmt.Sprintf("%s@%d", ev.Kv.Key, ev.Kv.ModRevision)
			if seen[id] {
				t.Errorf("%s applied twice", id)
			}
			seen[id] = true
			if j, ok := batchOf[ev.Kv.ModRevision]; ok && j != i {
				t.Errorf("revision %d split over batches %d and %d", ev.Kv.ModRevision, j, i)
			}
			batchOf[ev.Kv.ModRevision] = i
		}
	}
	if n := len(seen); n != 10*3+10+10*2 {
		t.Errorf("%d events applied, want 60", n)
	}
}

type failingKV struct{ upstream.KV }

func (failingKV) Range(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error) {
	return nil, errors.New("etcd is away")
}

func TestFeedStartFailsWhenTheLoadFails(t *testing.T) {
	checkNoLeaks(t)
	f, err := New(Config{Name: "h1", Topic: "fanout", Prefixes: []string{"/x/"}, KV: failingKV{}, Watch: testEtcd(t), Sink: newReplica()})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Start(harness.Context(t, time.Minute))
	if err == nil || !strings.HasPrefix(err.Error(), `feed fanout: load "/x/": `) {
		t.Fatalf("Start: %v", err)
	}
	if err := f.Start(harness.Context(t, time.Minute)); err == nil {
		t.Fatal("a second Start works")
	}
	f.Close()
	f.Close()
}

func TestConfigIsChecked(t *testing.T) {
	ok := Config{Name: "h", Topic: "t", Prefixes: []string{"/p/"}, KV: testEtcd(t), Watch: testEtcd(t), Sink: newReplica()}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Config){
		"no name":      func(c *Config) { c.Name = "" },
		"no topic":     func(c *Config) { c.Topic = "" },
		"no prefix":    func(c *Config) { c.Prefixes = nil },
		"empty prefix": func(c *Config) { c.Prefixes = []string{"/p/", ""} },
		"no etcd":      func(c *Config) { c.Watch = nil },
		"no sink":      func(c *Config) { c.Sink = nil },
	} {
		c := ok
		change(&c)
		if _, err := New(c); err == nil || !strings.HasPrefix(err.Error(), "feed") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMetricsShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewMetrics(reg, "fanout")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg, "fanout") // a second feed of the same area
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, "lease_index"); err != nil {
		t.Fatal(err)
	}
	a.Batches.Inc()
	b.Batches.Inc()
	if got := value(b.Batches); got != 2 {
		t.Fatalf("shared counter = %g", got)
	}
	names := map[string]bool{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{
		"herald_fanout_batches_total", "herald_fanout_bad_batches_total", "herald_fanout_repairs_total",
		"herald_fanout_feeding", "herald_fanout_upstream_watch_responses_total", "herald_lease_index_batches_total",
	} {
		if !names[want] {
			t.Errorf("no %s among %v", want, names)
		}
	}
}

// value reads a counter or a gauge.
func value(c prometheus.Collector) float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		panic(fmt.Sprint("reading a metric: ", err))
	}
	m := mfs[0].GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestFeedHeartbeatsFromWitnessedRevisions runs a lone feeder on a manual
// clock with a Witness: while etcd's reported revision is one the replica
// holds, each heartbeat is cut from it and etcd is asked nothing; a
// reported revision the replica lacks (a write outside the prefix), or no
// answer within half a ProgressEvery more, makes it ask etcd for progress.
func TestFeedHeartbeatsFromWitnessedRevisions(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	put(t, p+"a", "1")
	r := newReplica()
	m, _ := NewMetrics(nil, "test")
	clk := clock.NewManual(time.Now())
	w := new(upstream.Witness)
	f := startFeed(t, Config{Name: "h1", Prefixes: []string{p}, Sink: r, Metrics: m, Clock: clk,
		ProgressEvery: 100 * time.Millisecond, Witness: w})
	harness.WaitUntil(t, "the herald to feed", harness.DefaultPatience, f.IsFeeder)
	etcdRev := func() int64 {
		resp, err := testEtcd(t).Range(harness.Context(t, time.Minute), &pb.RangeRequest{Key: []byte(p + "a")})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	// The watch starts one revision back (feeder.go): the first heartbeat
	// needs etcd's progress answer, witness or not.
	harness.AdvanceUntil(t, clk, 50*time.Millisecond, "a first progress batch", harness.DefaultPatience, func() bool {
		return value(m.Batches) >= 1
	})

	asked := value(m.ProgressRequests)
	for i := range 3 {
		beats := value(m.WitnessedHeartbeats)
		w.Note(etcdRev())
		harness.AdvanceUntil(t, clk, 50*time.Millisecond, fmt.Sprintf("witnessed heartbeat %d", i+1), harness.DefaultPatience,
			func() bool { return value(m.WitnessedHeartbeats) > beats })
	}
	if got := value(m.ProgressRequests); got != asked {
		t.Fatalf("%v progress requests while etcd reported a revision the replica holds, want none", got-asked)
	}

	// etcd reports a revision beyond the replica's: ask, and catch up.
	beats := value(m.WitnessedHeartbeats)
	outside := put(t, "/outside-"+p, "x")
	w.Note(outside)
	harness.AdvanceUntil(t, clk, 50*time.Millisecond, "a progress batch to the revision written outside", harness.DefaultPatience,
		func() bool { return r.Rev() == outside })
	if value(m.ProgressRequests) == asked || value(m.WitnessedHeartbeats) != beats {
		t.Fatalf("witnessed revision %d ahead of the replica: %v progress requests, %v witnessed heartbeats; want a request and no heartbeat",
			outside, value(m.ProgressRequests)-asked, value(m.WitnessedHeartbeats)-beats)
	}

	// etcd answers herald nothing: after the grace, ask.
	asked = value(m.ProgressRequests)
	harness.AdvanceUntil(t, clk, 50*time.Millisecond, "a progress request without a witness", harness.DefaultPatience,
		func() bool { return value(m.ProgressRequests) > asked })
	if value(m.WitnessedHeartbeats) != beats {
		t.Fatal("a heartbeat was cut from a witness while etcd noted nothing")
	}
}

// keepingReplica is a replica that keeps the key-values of some ranges
// only, as an on-demand fan-out cache does.
type keepingReplica struct {
	*replica
	ranges []fanout.RangeRequest
}

func (r keepingReplica) KeptRanges() ([]fanout.RangeRequest, bool) { return r.ranges, true }

// TestFeedReadsOnlyTheKeptRanges: a sink that keeps some ranges only is
// loaded with those, read at one revision, not with the whole prefix.
func TestFeedReadsOnlyTheKeptRanges(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	put(t, p+"a/1", "1")
	put(t, p+"b/1", "2")
	rev := put(t, p+"c", "3")
	a := []byte(p + "a/")
	r := keepingReplica{newReplica(), []fanout.RangeRequest{{Key: a, RangeEnd: fanout.PrefixEnd(a)}, {Key: []byte(p + "c")}}}
	m, _ := NewMetrics(nil, "test")
	startFeed(t, Config{Name: "h1", Prefixes: []string{p}, Sink: r, Metrics: m, ProgressEvery: 100 * time.Millisecond})
	if loads, _ := r.loadsAndCompactRev(); loads != 1 {
		t.Fatalf("%d loads at Start, want 1", loads)
	}
	if got, want := r.loadedContent(), []string{p + "a/1=1", p + "c=3"}; !slices.Equal(got, want) {
		t.Fatalf("loaded %q, want the kept ranges' %q", got, want)
	}
	if r.Rev() < rev {
		t.Fatalf("loaded at revision %d, before the last put (%d)", r.Rev(), rev)
	}
}

// currentReadsOnly refuses reads at a given revision as ZooKeeper's
// upstream does unless it is the current one: here, always.
type currentReadsOnly struct{ upstream.KV }

func (k currentReadsOnly) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	if r.Revision != 0 {
		return nil, rpctypes.ErrGRPCCompacted
	}
	return k.KV.Range(ctx, r)
}

// TestFeedLoadsNoRangeItCannotReadAtOneRevision: when the kept ranges
// cannot be read at the revision the snapshot was pinned to, the sink is
// loaded with none of them (and reads them again as it needs them) rather
// than not at all.
func TestFeedLoadsNoRangeItCannotReadAtOneRevision(t *testing.T) {
	checkNoLeaks(t)
	p := prefix(t.Name())
	rev := put(t, p+"a/1", "1")
	a := []byte(p + "a/")
	r := keepingReplica{newReplica(), []fanout.RangeRequest{{Key: a, RangeEnd: fanout.PrefixEnd(a)}}}
	m, _ := NewMetrics(nil, "test")
	startFeed(t, Config{Name: "h1", Prefixes: []string{p}, Sink: r, Metrics: m, KV: currentReadsOnly{testEtcd(t)}, ProgressEvery: 100 * time.Millisecond})
	if loads, _ := r.loadsAndCompactRev(); loads != 1 || len(r.loadedContent()) != 0 || r.Rev() < rev {
		t.Fatalf("%d loads of %q at revision %d; want one, empty, at %d or later", loads, r.loadedContent(), r.Rev(), rev)
	}
}

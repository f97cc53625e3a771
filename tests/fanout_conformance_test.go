package tests

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// fanoutMaxRequestBytes is etcd's and herald's --max-request-bytes in the
// fan-out conformance tests: small, so that a modest txn makes a watch
// response that etcd fragments.
const fanoutMaxRequestBytes = "262144"

// fanoutEtcdOptions are the etcd options of the fan-out conformance tests.
func fanoutEtcdOptions() harness.EtcdOptions {
	return harness.EtcdOptions{ExtraArgs: []string{progressNotifyInterval, "--max-request-bytes", fanoutMaxRequestBytes}}
}

// fanoutTarget starts a fresh etcd and a fleet of two heralds with one
// feeder, and returns the herald that does not feed: its watchers are served
// from a cache filled over the broadcast tree.
func fanoutTarget(t *testing.T, opts harness.EtcdOptions) target {
	t.Helper()
	c := harness.StartEtcd(t, opts)
	fleet := startFleet(t, 2, c.Endpoints(), "--fanout-feeders", "1", "--max-request-bytes", fanoutMaxRequestBytes)
	deadline := time.Now().Add(fleetPatience)
	for {
		if f, nf := feeders(t, fleet), nonFeeders(t, fleet); len(f) == 1 && len(nf) == 1 {
			h := fleet[nf[0]]
			t.Logf("fan-out target: %s (the feeder is %s)", h.name, fleet[f[0]].name)
			warmUp(t, c, h)
			return target{name: "herald-fanout", endpoints: []string{h.Endpoint()}, upstream: c, herald: h.Herald}
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleet of two with one feeder: feeders %v after %v (%s)", feeders(t, fleet), fleetPatience, fleetMetrics(fleet))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// warmUp writes a key under the fan-out prefix at etcd and waits until h's
// cache holds it. The first batch after a fleet starts takes up to a second
// to reach a non-feeder (TestFanoutWatchAfterAcknowledgedWrite shows what a
// client sees meanwhile); the conformance tests compare the steady state.
func warmUp(t *testing.T, c *harness.EtcdCluster, h *fleetHerald) {
	t.Helper()
	admin := harness.Client(t, c.Endpoints()...)
	rev := mustPut(t, admin, "/services/~warmup", "w").Header.Revision
	cli := harness.Client(t, h.Endpoint())
	waitUntil(t, h.name+" cache reaches the warm-up write", fleetPatience, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp := <-cli.Watch(ctx, "/services/~warmup", clientv3.WithCreatedNotify())
		return resp.Created && resp.Header.Revision >= rev
	})
}

// syncKey is written until every live watcher of an etcdctl session has
// printed it: then they are in place. It sorts inside every live watcher's
// range (/services/ and [/services/a, /services/c)); its events are cut from
// every output before the comparison, since how many it takes depends on
// timing.
const syncKey = "/services/b~sync"

// syncEvents matches syncKey's events in etcdctl's simple output (with or
// without --prev-kv, which prints the previous key-value first).
var syncEvents = regexp.MustCompile(`(?m)^(?:PUT|DELETE)\n(?:` + regexp.QuoteMeta(syncKey) + `\ns\n)+`)

var progressLines = regexp.MustCompile(`(?m)^progress notify: \d+\n`)

// syncWatchers writes syncKey until each of ws has printed it.
func syncWatchers(s *session, ws ...*harness.BackgroundCtl) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, stderr, err := harness.Etcdctl(s.t, s.tgt.endpoints, "put", syncKey, "s"); err != nil {
			s.t.Fatalf("%s: put %s: %v %s", s.tgt.name, syncKey, err, stderr)
		}
		time.Sleep(100 * time.Millisecond)
		all := true
		for _, w := range ws {
			all = all && strings.Contains(w.Stdout(), syncKey)
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: live watchers never printed %s", s.tgt.name, syncKey)
		}
	}
}

// TestFanoutConformanceEtcdctl: etcdctl watch variants inside the fan-out
// prefix (--prefix live and from history, --prev-kv, a single key, a key
// range, -w json, --progress-notify, a compacted --rev) run against etcd and
// through a herald that serves them from its fan-out cache; the outputs are
// compared as in TestConformanceWatch.
func TestFanoutConformanceEtcdctl(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	opts := fanoutEtcdOptions()
	direct := newSession(t, directTarget(t, opts))
	via := newSession(t, fanoutTarget(t, opts))
	for _, s := range []*session{direct, via} {
		etcdctlWatchScenario(s)
		for i := range s.steps {
			s.steps[i].stdout = syncEvents.ReplaceAllString(s.steps[i].stdout, "")
		}
	}
	compareSessions(t, direct, via)
}

func etcdctlWatchScenario(s *session) {
	s.run("put", "/services/a", "1") // rev 2
	s.run("put", "/services/b", "2") // rev 3
	s.run("put", "/other/x", "o")    // rev 4, outside the prefix

	live := s.background("", "watch", "/services/", "--prefix")
	liveRange := s.background("", "watch", "/services/a", "/services/c", "--prev-kv")
	syncWatchers(s, live, liveRange)

	// From history: their arguments do not depend on the sync writes.
	history := s.background("", "watch", "/services/", "--prefix", "--rev", s.rev(2), "--prev-kv")
	single := s.background("", "watch", "/services/a", "--rev", s.rev(2))
	histRange := s.background("", "watch", "/services/a", "/services/c", "--rev", s.rev(1))
	progress := s.background("", "watch", "/services/", "--prefix", "--rev", s.rev(2), "--progress-notify")

	s.run("put", "/services/a", "3")
	s.run("del", "/services/b")
	s.run("put", "/other/y", "o")
	s.run("put", "/services/c", "4")
	s.input("\nput /services/a 5\nput /services/d 6\ndel /services/c\n\n\n", "txn", "-i")
	s.run("put", "/services/b", "7", "--prev-kv")
	s.run("del", "/services/a", "/services/b~", "--prev-kv") // a and b, not the sync key
	s.run("put", "/services/zz", "end")

	for _, w := range []*harness.BackgroundCtl{live, history, progress} {
		s.waitOutput(w, "end", 1)
	}
	for _, w := range []*harness.BackgroundCtl{liveRange, histRange} {
		s.waitOutput(w, "DELETE", 3) // b, then a and b
	}
	s.waitOutput(single, "DELETE", 1)
	s.interrupt("watch /services/ --prefix (live)", live)
	s.interrupt("watch /services/a /services/c --prev-kv (live)", liveRange)
	s.interrupt("watch /services/ --prefix --rev 2 --prev-kv", history)
	s.interrupt("watch /services/a --rev 2", single)
	s.interrupt("watch /services/a /services/c --rev 1", histRange)
	// Herald's cache has its own progress interval: only the events are
	// compared, the notifications (if any) are dropped.
	stdout, stderr := progress.Interrupt()
	s.record("watch /services/ --prefix --rev 2 --progress-notify (events only)",
		progressLines.ReplaceAllString(stdout, ""), stderr, progress.ExitCode())

	js := s.background("", "watch", "/services/a", "--rev", s.rev(1), "-w", "json")
	s.waitOutput(js, `"type":1`, 1)
	s.interrupt("watch /services/a --rev 1 -w json", js)

	// Compaction: a watch from a compacted revision ends with etcd's error
	// (a herald that replays history instead keeps running: it is stopped
	// after compactedPatience and the difference shows); one from the
	// compact revision itself replays history.
	s.run("compaction", s.rev(4))
	compacted := s.background("", "watch", "/services/a", "--rev", s.rev(2))
	select {
	case <-compacted.Exited():
	case <-time.After(compactedPatience):
	}
	s.expectStderr(s.interrupt("watch /services/a --rev 2 (compacted)", compacted), "compacted")
	atCompact := s.background("", "watch", "/services/a", "--rev", s.rev(4), "-w", "json")
	s.waitOutput(atCompact, `"type":1`, 1)
	s.interrupt("watch /services/a --rev 4 -w json (the compact revision)", atCompact)
}

// compactedPatience is how long a watch from a compacted revision may take
// to end; it only bounds the wait for a herald that never ends it.
const compactedPatience = 10 * time.Second

// watchLog records what one clientv3 watch channel delivers, as lines that
// compare across clusters: revisions are relative to the session's base.
type watchLog struct {
	name string
	base int64

	mu      sync.Mutex
	lines   []string
	lastRev int64 // highest event mod revision seen
	created int64 // header revision of the created response, 0 before
	closed  bool
	prog    []int64 // header revisions of progress notifications
}

func newWatchLog(name string, base int64, wch clientv3.WatchChan) *watchLog {
	l := &watchLog{name: name, base: base}
	go func() {
		for resp := range wch {
			l.add(resp)
		}
		l.mu.Lock()
		l.closed = true
		l.lines = append(l.lines, "closed")
		l.mu.Unlock()
	}()
	return l
}

func (l *watchLog) rel(rev int64) int64 {
	if rev == 0 {
		return 0
	}
	return rev - l.base
}

func (l *watchLog) add(resp clientv3.WatchResponse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case resp.Created:
		l.created = resp.Header.Revision
		l.lines = append(l.lines, "created")
	case resp.IsProgressNotify():
		l.prog = append(l.prog, resp.Header.Revision)
		return // how many arrive depends on time
	}
	if resp.CompactRevision != 0 || resp.Canceled {
		l.lines = append(l.lines, fmt.Sprintf("canceled compact=%d err=%v", l.rel(resp.CompactRevision), resp.Err()))
	}
	// How etcd groups events into responses depends on timing (an unsynced
	// watcher gets what its 100 ms sync loop found), except that a revision
	// is never split and a fragmented answer is joined: only the fragment
	// watcher records its grouping.
	if len(resp.Events) > 0 && l.name == "fragment" {
		l.lines = append(l.lines, fmt.Sprintf("response of %d events", len(resp.Events)))
	}
	for i := 1; i < len(resp.Events); i++ {
		if resp.Events[i].Kv.ModRevision < resp.Events[i-1].Kv.ModRevision {
			l.lines = append(l.lines, "events out of revision order in one response")
		}
	}
	for _, ev := range resp.Events {
		val := string(ev.Kv.Value)
		if len(val) > 16 {
			val = fmt.Sprintf("<%d bytes %q…>", len(val), val[:8])
		}
		s := fmt.Sprintf("%s %s=%s mod=%d create=%d ver=%d", ev.Type, ev.Kv.Key, val, l.rel(ev.Kv.ModRevision), l.rel(ev.Kv.CreateRevision), ev.Kv.Version)
		if ev.PrevKv != nil {
			s += fmt.Sprintf(" prev=%d bytes@%d", len(ev.PrevKv.Value), l.rel(ev.PrevKv.ModRevision))
		}
		l.lines = append(l.lines, s)
		l.lastRev = max(l.lastRev, ev.Kv.ModRevision)
	}
}

func (l *watchLog) snapshot() (lines []string, lastRev, created int64, closed bool, prog []int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines), l.lastRev, l.created, l.closed, slices.Clone(l.prog)
}

// waitFor polls cond on l until it holds, or fails t after opTimeout.
func (l *watchLog) waitFor(t *testing.T, what string, cond func(lines []string, lastRev, created int64, closed bool, prog []int64) bool) {
	t.Helper()
	deadline := time.Now().Add(opTimeout)
	for {
		lines, last, created, closed, prog := l.snapshot()
		if cond(lines, last, created, closed, prog) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch %s: %s not within %v; got:\n%s", l.name, what, opTimeout, strings.Join(lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *watchLog) waitRev(t *testing.T, rev int64) {
	t.Helper()
	l.waitFor(t, fmt.Sprintf("an event at revision %d", rev), func(_ []string, last, _ int64, _ bool, _ []int64) bool { return last >= rev })
}

// clientv3Transcript is what one clientv3 session observed, per watcher, and
// the checks on it that do not compare.
type clientv3Transcript struct {
	logs  map[string][]string
	notes []string
}

// clientv3WatchScenario runs the Go client's watch options against cli: a
// dozen watchers on one stream (one ctx), inside and outside the fan-out
// prefix, writes, a cancel, RequestProgress, a fragmented answer, and
// compaction.
func clientv3WatchScenario(t *testing.T, cli *clientv3.Client) clientv3Transcript {
	t.Helper()
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	base := mustPut(t, cli, "/services/a", "1").Header.Revision
	mustPut(t, cli, "/services/b", "2")
	mustPut(t, cli, "/other/x", "o")

	logs := map[string]*watchLog{}
	watch := func(name string, wctx context.Context, key string, opts ...clientv3.OpOption) *watchLog {
		l := newWatchLog(name, base, cli.Watch(wctx, key, opts...))
		logs[name] = l
		return l
	}
	cancelCtx, cancelOne := context.WithCancel(ctx) // same metadata: same stream
	defer cancelOne()
	live := []*watchLog{
		watch("prefix", ctx, "/services/", clientv3.WithPrefix(), clientv3.WithCreatedNotify()),
		watch("prefix no put", ctx, "/services/", clientv3.WithPrefix(), clientv3.WithFilterPut(), clientv3.WithPrevKV(), clientv3.WithCreatedNotify()),
		watch("prefix no delete", ctx, "/services/", clientv3.WithPrefix(), clientv3.WithFilterDelete(), clientv3.WithCreatedNotify()),
		watch("key a prev", ctx, "/services/a", clientv3.WithPrevKV(), clientv3.WithCreatedNotify()),
		watch("range a..c", ctx, "/services/a", clientv3.WithRange("/services/c"), clientv3.WithCreatedNotify()),
		watch("outside prefix", ctx, "/other/", clientv3.WithPrefix(), clientv3.WithCreatedNotify()),
		watch("progress", ctx, "/services/quiet", clientv3.WithProgressNotify(), clientv3.WithCreatedNotify()),
		watch("fragment", ctx, "/services/big/", clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithFragment(), clientv3.WithCreatedNotify()),
		watch("to cancel", cancelCtx, "/services/", clientv3.WithPrefix(), clientv3.WithCreatedNotify()),
		watch("history prev", ctx, "/services/", clientv3.WithPrefix(), clientv3.WithRev(base), clientv3.WithPrevKV(), clientv3.WithCreatedNotify()),
		watch("history key b", ctx, "/services/b", clientv3.WithRev(base), clientv3.WithCreatedNotify()),
	}
	// All created before the writes: how etcd groups events into
	// responses then depends on nothing but the writes.
	for _, l := range live {
		l.waitFor(t, "created", func(_ []string, _, created int64, _ bool, _ []int64) bool { return created > 0 })
	}

	mustPut(t, cli, "/services/a", "3")
	if _, err := cli.Delete(ctx, "/services/b"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, cli, "/other/y", "o")
	mustPut(t, cli, "/services/c", "4")
	if _, err := cli.Txn(ctx).Then(clientv3.OpPut("/services/a", "5"), clientv3.OpPut("/services/d", "6"), clientv3.OpDelete("/services/c")).Commit(); err != nil {
		t.Fatal(err)
	}
	r := mustPut(t, cli, "/services/b", "7")
	for _, name := range []string{"prefix", "prefix no delete", "range a..c", "to cancel", "history prev", "history key b"} {
		logs[name].waitRev(t, r.Header.Revision)
	}

	// Cancel one watcher: its channel closes, the others on the stream go on.
	cancelOne()
	logs["to cancel"].waitFor(t, "closed", func(_ []string, _, _ int64, closed bool, _ []int64) bool { return closed })

	// A txn whose watch answer (with prev_kv) exceeds max-request-bytes:
	// etcd fragments it, clientv3 joins the fragments.
	big := strings.Repeat("x", 40<<10)
	var ops []clientv3.Op
	for i := range 4 {
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("/services/big/%d", i), big))
	}
	for range 2 {
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatalf("big txn: %v", err)
		}
	}
	mustPut(t, cli, "/services/a", "end")
	del, err := cli.Delete(ctx, "/services/a")
	if err != nil {
		t.Fatal(err)
	}
	last := del.Header.Revision
	outside := mustPut(t, cli, "/other/end", "o").Header.Revision
	for _, name := range []string{"prefix", "prefix no put", "key a prev", "range a..c", "history prev"} {
		logs[name].waitRev(t, last)
	}
	logs["prefix no delete"].waitRev(t, last-1)
	logs["outside prefix"].waitRev(t, outside)
	logs["fragment"].waitRev(t, last-2)

	// RequestProgress: a notification arrives, at or after the last event.
	// The watcher also gets the periodic ones (every 300 ms), which cannot
	// be told from the answer: one sent before the last write may arrive
	// after the request, so what counts is that a notification at or after
	// the last write comes, and that none goes back in revision.
	var notes []string
	if err := cli.RequestProgress(ctx); err != nil {
		t.Fatalf("RequestProgress: %v", err)
	}
	logs["progress"].waitFor(t, "a progress notification at or after the last write", func(_ []string, _, _ int64, _ bool, prog []int64) bool {
		return len(prog) > 0 && prog[len(prog)-1] >= outside
	})
	_, _, _, _, prog := logs["progress"].snapshot()
	for i := 1; i < len(prog); i++ {
		if prog[i] < prog[i-1] {
			notes = append(notes, fmt.Sprintf("progress notifications went back from revision %d to %d", prog[i-1], prog[i]))
		}
	}

	// Compaction: a watch from a compacted revision is cancelled with the
	// compact revision; from the compact revision itself it replays.
	compactAt := last - 3
	if _, err := cli.Compact(ctx, compactAt); err != nil {
		t.Fatalf("Compact(%d): %v", compactAt, err)
	}
	// clientv3 leaves the channel of a compacted watch open, with the error.
	compactedCtx, stopCompacted := context.WithCancel(ctx)
	defer stopCompacted()
	compacted := watch("compacted", compactedCtx, "/services/", clientv3.WithPrefix(), clientv3.WithRev(base+1))
	for deadline := time.Now().Add(compactedPatience); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		lines, _, _, _, _ := compacted.snapshot()
		if slices.ContainsFunc(lines, func(s string) bool { return strings.HasPrefix(s, "canceled") }) {
			break
		}
	}
	stopCompacted()
	compacted.waitFor(t, "closed", func(_ []string, _, _ int64, closed bool, _ []int64) bool { return closed })
	lines, _, _, _, _ := compacted.snapshot()
	if !slices.ContainsFunc(lines, func(s string) bool { return strings.Contains(s, rpctypes.ErrCompacted.Error()) }) {
		notes = append(notes, fmt.Sprintf("watch from compacted revision %d: no %q in %q", base+1, rpctypes.ErrCompacted, lines))
	}
	atCompact := watch("from compact revision", ctx, "/services/", clientv3.WithPrefix(), clientv3.WithRev(compactAt))
	atCompact.waitRev(t, last)

	// Stop every watcher: each transcript ends with "closed" and is final.
	cancel()
	out := clientv3Transcript{logs: map[string][]string{}, notes: notes}
	for name, l := range logs {
		l.waitFor(t, "closed", func(_ []string, _, _ int64, closed bool, _ []int64) bool { return closed })
		out.logs[name], _, _, _, _ = l.snapshot()
	}
	return out
}

// TestFanoutConformanceClientV3: clientv3 watch options (WithPrefix, WithRev,
// WithPrevKV, WithFilterPut/Delete, WithProgressNotify, RequestProgress,
// WithFragment, WithCreatedNotify, cancel, compaction), several watchers on
// one stream inside and outside the fan-out prefix, against etcd and through
// a herald serving them from its fan-out cache; each watcher's transcript is
// compared.
func TestFanoutConformanceClientV3(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	opts := fanoutEtcdOptions()
	directC := harness.StartEtcd(t, opts)
	via := fanoutTarget(t, opts)
	d := clientv3WatchScenario(t, harness.Client(t, directC.Endpoints()...))
	v := clientv3WatchScenario(t, harness.Client(t, via.endpoints...))
	for _, n := range d.notes {
		t.Errorf("direct etcd: %s", n)
	}
	for _, n := range v.notes {
		t.Errorf("%s: %s", via.name, n)
	}
	names := make([]string, 0, len(d.logs))
	for name := range d.logs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		dl, vl := d.logs[name], v.logs[name]
		if slices.Equal(dl, vl) {
			continue
		}
		t.Errorf("watch %q differs:\n--- direct:\n%s\n--- %s:\n%s", name, strings.Join(dl, "\n"), via.name, strings.Join(vl, "\n"))
	}
}

// TestFanoutWatchAfterAcknowledgedWrite: a client writes through a herald
// that does not feed, then watches through it. etcd (one member) creates
// the watch at a revision at least that of the acknowledged write, so the
// write is never delivered as an event; a herald whose cache lags must not
// create the watch at an older revision either. Run on a fresh fleet, where
// the first batch reaches the non-feeder late.
func TestFanoutWatchAfterAcknowledgedWrite(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 2, c.Endpoints(), "--fanout-feeders", "1")
	var h *fleetHerald
	waitUntil(t, "one feeder and one non-feeder", fleetPatience, func() bool {
		nf := nonFeeders(t, fleet)
		if len(feeders(t, fleet)) != 1 || len(nf) != 1 {
			return false
		}
		h = fleet[nf[0]]
		return true
	})
	cli := harness.Client(t, h.Endpoint())
	for i := range 5 {
		ctx, cancel := context.WithCancel(ctxT(t))
		put := mustPut(t, cli, "/services/acked", fmt.Sprint(i)).Header.Revision
		wch := cli.Watch(ctx, "/services/acked", clientv3.WithCreatedNotify())
		created := <-wch
		var early []string
		if created.Header.Revision < put {
			// Collect what arrives for the acknowledged write, as evidence.
			select {
			case resp := <-wch:
				for _, ev := range resp.Events {
					early = append(early, fmt.Sprintf("%s %s=%s mod=%d", ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision))
				}
			case <-time.After(5 * time.Second):
			}
			t.Errorf("write %d acknowledged at revision %d through %s; a watch created right after reports revision %d and then delivers %q",
				i, put, h.name, created.Header.Revision, early)
		}
		cancel()
		time.Sleep(200 * time.Millisecond)
	}
}

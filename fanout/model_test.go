package fanout

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// TestModel drives a cache with random txns, reordered and duplicated
// batches, watchers with random ranges, start revisions, filters and
// options, catch-ups, compactions, slow streams and progress ticks (and,
// on odd seeds, an on-demand cache with ranges read from "etcd" at any
// moment and delivered late, and dropped when idle), and
// compares every watcher's stream with the one computed naively from the
// reference history: exactly its events, in order, once each — or a prefix
// of them followed by a compaction cancel.
func TestModel(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 40
	}
	modelStats = map[string]int{}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed) })
	}
	t.Logf("checked: %v", modelStats)
	// The scenarios this test exists for must have happened.
	for _, k := range []string{"events", "compacted", "slow", "catchup", "progress", "fragment", "history", "range",
		"on-demand range", "range load", "stale range load", "range dropped"} {
		if modelStats[k] == 0 {
			t.Errorf("no %s in %d runs", k, seeds)
		}
	}
}

// modelStats counts what the runs exercised (tests run sequentially).
var modelStats map[string]int

type modelWatch struct {
	id       int64
	sp       span
	start    int64 // first revision expected
	prevKV   bool
	noPut    bool
	noDelete bool
	got      []*mvccpb.Event
	canceled bool  // by the client
	compact  int64 // compaction cancel
	catching bool
}

type pendingCreate struct {
	req   *pb.WatchCreateRequest
	start int64
}

type modelStream struct {
	s        *Stream
	lastHdr  int64 // header revisions never go down (but for compaction's 0)
	creates  []pendingCreate
	watches  map[int64]*modelWatch
	catchUps map[int64]int64 // id → next revision to fetch
	slow     bool
}

func runModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	cfg := Config{
		Prefixes:           []string{"/services/"},
		MaxEvents:          3 + rng.IntN(30),
		MaxRevsPerResponse: 1 + rng.IntN(5),
		MaxResponseBytes:   100 + rng.IntN(400),
		ProgressInterval:   time.Minute,
		MaxHeldBatches:     1 + rng.IntN(8),
	}
	if rng.IntN(3) == 0 {
		cfg.MaxPendingBytes = 50 + rng.IntN(300)
	}
	if seed%2 == 1 {
		cfg.OnDemand = true
		cfg.Linger = time.Duration(30+rng.IntN(150)) * time.Second
	}
	c, err := NewCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newFakeEtcd()
	keys := []string{"/services/a", "/services/b", "/services/b/1", "/services/c", "/services/d", "/other/x"}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Tick(now)
	modelCompactRev = 0

	var batches []Batch // the feeder chain
	var pending []Batch // not yet delivered
	deliver := func(b Batch) {
		if _, err := c.Apply(b); err != nil {
			t.Fatalf("apply %+v: %v", b, err)
		}
	}
	// A few writes before the snapshot.
	for range rng.IntN(4) {
		e.txn(op{key: keys[rng.IntN(len(keys))], value: fmt.Sprint(rng.IntN(100))})
	}
	if _, err := c.Load(e.rev, e.snapshot(), 0); err != nil {
		t.Fatal(err)
	}
	lastRev := e.rev

	var reads []rangeRead // on-demand ranges read, not yet given to the cache
	var streams []*modelStream
	newStream := func() {
		streams = append(streams, &modelStream{s: c.NewStream(), watches: map[int64]*modelWatch{}, catchUps: map[int64]int64{}, slow: rng.IntN(4) == 0})
	}
	newStream()
	newStream()

	check := func(ms *modelStream, rd Ready) {
		for _, r := range rd.Responses {
			checkResponse(t, e, ms, r)
		}
		for _, cu := range rd.CatchUps {
			ms.catchUps[cu.WatchID] = cu.StartRevision
			if w := ms.watches[cu.WatchID]; w != nil {
				w.catching = true
			}
		}
		for _, id := range rd.StopCatchUps {
			delete(ms.catchUps, id)
		}
		if len(rd.Forwards) > 0 || len(rd.ForwardCancels) > 0 || rd.ForwardProgress {
			t.Fatalf("unexpected forward: %+v", rd)
		}
	}
	drain := func(ms *modelStream) {
		for ms.s.HasReady() {
			check(ms, ms.s.Ready())
		}
	}
	catchUp := func(ms *modelStream, id int64, all bool) {
		from := ms.catchUps[id]
		upto := e.rev
		if !all && upto > from {
			upto = from + rng.Int64N(upto-from+1)
		}
		// as an upstream watch would send it: from `from`, possibly overlapping
		if from > 1 && rng.IntN(3) == 0 {
			from--
		}
		if upto < from {
			return
		}
		done := ms.s.CatchUp(id, e.eventsFrom(from, upto), upto)
		modelStats["catchup"]++
		ms.catchUps[id] = upto + 1
		if done {
			delete(ms.catchUps, id)
		}
	}

	for step := 0; step < 300; step++ {
		ms := streams[rng.IntN(len(streams))]
		switch k := rng.IntN(100); {
		case k < 30: // a txn
			var ops []op
			for range 1 + rng.IntN(3) {
				key := keys[rng.IntN(len(keys))]
				if slices.ContainsFunc(ops, func(o op) bool { return o.key == key }) {
					continue // etcd refuses a key twice in one txn
				}
				ops = append(ops, op{key: key, value: fmt.Sprint(rng.IntN(100)), del: rng.IntN(3) == 0})
			}
			evs := e.txn(ops...)
			var mine []*mvccpb.Event
			for _, ev := range evs {
				if c.inPrefixes(ev.Kv.Key) {
					mine = append(mine, ev)
				}
			}
			if len(mine) > 0 {
				b := Batch{PrevRev: lastRev, Rev: e.rev, Events: mine}
				lastRev = e.rev
				batches = append(batches, b)
				pending = append(pending, b)
			}
		case k < 34: // progress from the feeder
			e.bump()
			b := Batch{PrevRev: lastRev, Rev: e.rev, ProgressOnly: true}
			lastRev = e.rev
			batches = append(batches, b)
			pending = append(pending, b)
		case k < 50: // deliver, sometimes out of order or twice
			if len(pending) > 0 {
				i := 0
				if rng.IntN(3) == 0 {
					i = rng.IntN(len(pending))
				}
				deliver(pending[i])
				pending = slices.Delete(pending, i, i+1)
			}
			if len(batches) > 0 && rng.IntN(5) == 0 {
				deliver(batches[rng.IntN(len(batches))])
			}
			if g := c.Gap(); g != nil && len(pending) == 0 && rng.IntN(2) == 0 {
				// repair from "upstream": one batch covering the gap
				deliver(Batch{PrevRev: g.From - 1, Rev: g.To, Events: e.eventsFrom(g.From, g.To)})
			}
		case k < 62: // a new watcher
			req := randomCreate(rng, keys[:5], e.rev)
			start := req.StartRevision
			if start == 0 {
				start = c.Rev() + 1
			}
			ms.creates = append(ms.creates, pendingCreate{req: req, start: start})
			ms.s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: req}})
		case k < 66: // the client cancels
			for id, w := range ms.watches {
				if !w.canceled {
					w.canceled = true
					ms.s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: id}}})
					break
				}
			}
		case k < 70:
			ms.s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}})
		case k < 76:
			now = now.Add(time.Duration(rng.IntN(90)) * time.Second)
			held := len(c.held.all)
			c.Tick(now)
			if len(c.held.all) < held {
				modelStats["range dropped"]++
			}
		case k < 78:
			c.SetCompactRev(rng.Int64N(e.rev + 1))
			modelCompactRev = c.CompactRev()
		case k < 80:
			newStream()
		case k < 88:
			for id := range ms.catchUps {
				catchUp(ms, id, false)
				break
			}
		case k < 92:
			checkRange(t, rng, c, e, keys)
		case k < 95: // the driver reads the ranges the cache wants
			for _, w := range c.Wants() {
				if rng.IntN(6) == 0 {
					c.LoadRangeFailed(w.Key, w.RangeEnd)
					continue
				}
				sp := requestSpan(w.Key, w.RangeEnd)
				var kvs []*mvccpb.KeyValue
				for _, kv := range e.snapshot() {
					if sp.contains(kv.Key) {
						kvs = append(kvs, kv)
					}
				}
				reads = append(reads, rangeRead{w, e.rev, kvs})
			}
		case k < 98: // and gives the cache an answer, in any order
			if len(reads) > 0 {
				i := rng.IntN(len(reads))
				r := reads[i]
				reads = slices.Delete(reads, i, i+1)
				if r.rev < c.Rev() {
					modelStats["stale range load"]++
				}
				if err := c.LoadRange(r.w.Key, r.w.RangeEnd, r.rev, r.kvs); err != nil {
					t.Fatal(err)
				}
				modelStats["range load"]++
			}
		}
		// the driver serves streams, slow ones rarely
		for _, s := range streams {
			if !s.slow || rng.IntN(10) == 0 {
				drain(s)
			}
		}
	}

	// Quiesce: everything delivered, every catch-up finished.
	for _, b := range pending {
		deliver(b)
	}
	for g := c.Gap(); g != nil; g = c.Gap() {
		deliver(Batch{PrevRev: g.From - 1, Rev: g.To, Events: e.eventsFrom(g.From, g.To)})
	}
	if c.Rev() != lastRev || c.Gap() != nil {
		t.Fatalf("cache at %d gap %v, chain at %d", c.Rev(), c.Gap(), lastRev)
	}
	for _, ms := range streams {
		for range 100 {
			drain(ms)
			if len(ms.catchUps) == 0 {
				break
			}
			for id := range ms.catchUps {
				catchUp(ms, id, true)
			}
		}
		drain(ms)
		if len(ms.catchUps) != 0 {
			t.Fatalf("catch-ups never finish: %v", ms.catchUps)
		}
	}
	modelStats["slow"] += int(c.Stats().SlowCancels)
	for _, ms := range streams {
		for _, w := range ms.watches {
			want := expected(e, w)
			switch {
			case w.compact != 0:
				if !isPrefix(w.got, want) {
					t.Fatalf("compacted watcher %d: got\n%v\nwant a prefix of\n%v", w.id, w.got, want)
				}
				if n := len(w.got); n > 0 && w.got[n-1].Kv.ModRevision >= w.compact {
					t.Fatalf("watcher %d: compact_revision %d not after its last event", w.id, w.compact)
				}
			case w.canceled:
				if !isPrefix(w.got, want) {
					t.Fatalf("cancelled watcher %d: got\n%v\nwant a prefix of\n%v", w.id, w.got, want)
				}
			default:
				if !isPrefix(w.got, want) || len(w.got) != len(want) {
					t.Fatalf("watcher %d %+v: got\n%v\nwant\n%v", w.id, w.sp, w.got, want)
				}
			}
		}
	}
}

func randomCreate(rng *rand.Rand, keys []string, rev int64) *pb.WatchCreateRequest {
	req := &pb.WatchCreateRequest{ProgressNotify: rng.IntN(2) == 0, PrevKv: rng.IntN(2) == 0, Fragment: rng.IntN(2) == 0}
	switch rng.IntN(3) {
	case 0:
		req.Key = []byte(keys[rng.IntN(len(keys))])
	case 1:
		req.Key = []byte("/services/")
		req.RangeEnd = []byte("/services0")
		if rng.IntN(2) == 0 {
			req.Key, req.RangeEnd = []byte("/services/b"), []byte("/services/c")
		}
	default:
		req.Key, req.RangeEnd = []byte("/services/b"), []byte("/services/d")
	}
	if rng.IntN(2) == 0 {
		req.StartRevision = 1 + rng.Int64N(rev+2)
	}
	switch rng.IntN(6) {
	case 0:
		req.Filters = []pb.WatchCreateRequest_FilterType{pb.WatchCreateRequest_NOPUT}
	case 1:
		req.Filters = []pb.WatchCreateRequest_FilterType{pb.WatchCreateRequest_NODELETE}
	}
	return req
}

// checkResponse checks one response against the client's view and records
// its events.
func checkResponse(t *testing.T, e *fakeEtcd, ms *modelStream, r *pb.WatchResponse) {
	t.Helper()
	if h := r.Header.Revision; h != 0 || r.CompactRevision == 0 {
		if h < ms.lastHdr {
			t.Fatalf("header revision %d after %d: %v", h, ms.lastHdr, r)
		}
		ms.lastHdr = h
	}
	switch {
	case r.Created:
		pc := ms.creates[0]
		ms.creates = ms.creates[1:]
		if r.Canceled {
			t.Fatalf("create refused: %v", r)
		}
		if ms.watches[r.WatchId] != nil {
			t.Fatalf("id %d given twice", r.WatchId)
		}
		w := &modelWatch{id: r.WatchId, sp: requestSpan(pc.req.Key, pc.req.RangeEnd), start: pc.start, prevKV: pc.req.PrevKv}
		for _, f := range pc.req.Filters {
			w.noPut = w.noPut || f == pb.WatchCreateRequest_NOPUT
			w.noDelete = w.noDelete || f == pb.WatchCreateRequest_NODELETE
		}
		ms.watches[r.WatchId] = w
	case r.WatchId == -1: // ProgressRequest: every watcher is complete through R
		for _, w := range ms.watches {
			if !w.canceled && w.compact == 0 {
				checkComplete(t, e, w, r.Header.Revision)
			}
		}
	default:
		w := ms.watches[r.WatchId]
		if w == nil {
			t.Fatalf("response for unknown watch %d: %v", r.WatchId, r)
		}
		if r.Canceled {
			switch {
			case r.CompactRevision != 0 && w.compact == 0:
				w.compact = r.CompactRevision
				modelStats["compacted"]++
			case r.CompactRevision == 0 && w.canceled:
			default:
				t.Fatalf("cancel not asked for: %v", r)
			}
			return
		}
		if w.compact != 0 {
			t.Fatalf("response after the compaction cancel: %v", r)
		}
		if w.canceled {
			return // in flight when the client cancelled; etcd may send it too
		}
		for _, ev := range r.Events {
			if ev.Kv.ModRevision > r.Header.Revision {
				t.Fatalf("event at %d in a response headed %d", ev.Kv.ModRevision, r.Header.Revision)
			}
		}
		w.got = append(w.got, r.Events...)
		modelStats["events"] += len(r.Events)
		if r.Fragment {
			modelStats["fragment"]++
		}
		if len(r.Events) > 0 && r.Events[len(r.Events)-1].Kv.ModRevision < r.Header.Revision {
			modelStats["history"]++
		}
		if len(r.Events) == 0 && !r.Fragment {
			checkComplete(t, e, w, r.Header.Revision)
		}
	}
}

// checkComplete: a progress notification at rev promises every event up to rev.
func checkComplete(t *testing.T, e *fakeEtcd, w *modelWatch, rev int64) {
	t.Helper()
	modelStats["progress"]++
	var want []*mvccpb.Event
	for _, ev := range expected(e, w) {
		if ev.Kv.ModRevision <= rev {
			want = append(want, ev)
		}
	}
	if len(w.got) != len(want) || !isPrefix(w.got, want) {
		t.Fatalf("progress at %d for watcher %d, but got\n%v\nwant\n%v", rev, w.id, w.got, want)
	}
}

// expected computes a watcher's stream naively from the history.
func expected(e *fakeEtcd, w *modelWatch) []*mvccpb.Event {
	var out []*mvccpb.Event
	for _, ev := range e.history {
		if ev.Kv.ModRevision < w.start || !w.sp.contains(ev.Kv.Key) {
			continue
		}
		if (ev.Type == mvccpb.Event_PUT && w.noPut) || (ev.Type == mvccpb.Event_DELETE && w.noDelete) {
			continue
		}
		x := &mvccpb.Event{Type: ev.Type, Kv: ev.Kv}
		if w.prevKV && !isCreate(ev) {
			x.PrevKv = ev.PrevKv
		}
		out = append(out, x)
	}
	return out
}

func isPrefix(got, want []*mvccpb.Event) bool {
	if len(got) > len(want) {
		return false
	}
	for i := range got {
		if !sameEvent(got[i], want[i]) {
			return false
		}
	}
	return true
}

// sameEvent compares events, allowing a prev_kv that etcd leaves out once
// the revision before the event is compacted (the compact revision only
// grows, so the one at the end of the run bounds the one at delivery).
func sameEvent(got, want *mvccpb.Event) bool {
	if proto.Equal(got, want) {
		return true
	}
	return got.PrevKv == nil && want.PrevKv != nil && got.Kv.ModRevision-1 < modelCompactRev &&
		got.Type == want.Type && proto.Equal(got.Kv, want.Kv)
}

// modelCompactRev is the running model's compact revision (tests run
// sequentially).
var modelCompactRev int64

// checkRange compares a Range from the cache with the reference.
func checkRange(t *testing.T, rng *rand.Rand, c *Cache, e *fakeEtcd, keys []string) {
	t.Helper()
	r := &pb.RangeRequest{Key: []byte("/services/"), RangeEnd: []byte("/services0")}
	if rng.IntN(2) == 0 {
		r = &pb.RangeRequest{Key: []byte(keys[rng.IntN(4)])}
	}
	if rng.IntN(2) == 0 {
		r.Revision = rng.Int64N(c.Rev() + 1)
	}
	served := c.ServesRange(r.Key, r.RangeEnd)
	resp, ok := c.Range(r)
	if ok != (served && c.Gap() == nil) && (r.Revision == 0 || r.Revision == c.Rev()) {
		t.Fatalf("range %v: served %v, answered %v", r, served, ok)
	}
	if !ok {
		return
	}
	modelStats["range"]++
	if c.cfg.OnDemand {
		modelStats["on-demand range"]++
	}
	rev := r.Revision
	if rev == 0 {
		rev = c.Rev()
	}
	state := e.at(rev)
	sp := requestSpan(r.Key, r.RangeEnd)
	var want []*mvccpb.KeyValue
	for _, kv := range e.snapshotOf(state) {
		if sp.contains(kv.Key) {
			want = append(want, kv)
		}
	}
	if len(want) != len(resp.Kvs) || resp.Count != int64(len(want)) {
		t.Fatalf("range %v at %d: got %v want %v", r, rev, resp.Kvs, want)
	}
	for i := range want {
		if !proto.Equal(want[i], resp.Kvs[i]) {
			t.Fatalf("range %v at %d: got %v want %v", r, rev, resp.Kvs, want)
		}
	}
}

// rangeRead is the driver's read of a range an on-demand cache wants.
type rangeRead struct {
	w   RangeRequest
	rev int64
	kvs []*mvccpb.KeyValue
}

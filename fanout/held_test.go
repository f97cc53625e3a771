package fanout

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// TestOnDemandKeepsOnlyWhatIsAsked: an on-demand cache fed the whole
// prefix keeps the events of the ranges watched here, from the watch's
// creation on, the key-values of the ranges read here, from their load on,
// and lets both go Linger after their last use.
func TestOnDemandKeepsOnlyWhatIsAsked(t *testing.T) {
	c, err := NewCache(Config{Prefixes: []string{"/services/"}, OnDemand: true, Linger: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Tick(now)
	e := newFakeEtcd()
	e.txn(op{key: "/services/web/1", value: "a"}, op{key: "/services/db/1", value: "b"})
	if _, err := c.Load(e.rev, e.snapshot(), 0); err != nil {
		t.Fatal(err)
	}
	last := e.rev
	feed := func(ops ...op) {
		t.Helper()
		evs := e.txn(ops...)
		if _, err := c.Apply(Batch{PrevRev: last, Rev: e.rev, Events: evs}); err != nil {
			t.Fatal(err)
		}
		last = e.rev
	}
	feed(op{key: "/services/db/2", value: "c"})
	if len(c.kv.kvs) != 0 || c.window.events != 0 {
		t.Fatalf("nothing asked for, yet the cache keeps %d keys and %d events", len(c.kv.kvs), c.window.events)
	}

	// A watch of /services/web/ from an older revision catches up from
	// upstream: the window holds the range's events only from now on.
	s := c.NewStream()
	s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
		Key: []byte("/services/web/"), RangeEnd: []byte("/services/web0"), StartRevision: 2}}})
	if rd := s.Ready(); len(rd.CatchUps) != 1 {
		t.Fatalf("watch from revision 2 of a range just held: %+v, want one catch-up", rd)
	}
	feed(op{key: "/services/web/2", value: "d"}, op{key: "/services/db/3", value: "e"})
	if c.window.events != 1 || len(c.kv.kvs) != 0 {
		t.Fatalf("a watched range: the window keeps %d events (want 1) and kv %d keys (want 0)", c.window.events, len(c.kv.kvs))
	}

	// A read of it is refused, wanted, loaded, then served.
	web := &pb.RangeRequest{Key: []byte("/services/web/"), RangeEnd: []byte("/services/web0")}
	if c.ServesRange(web.Key, web.RangeEnd) {
		t.Fatal("a range never loaded is served")
	}
	wants := c.Wants()
	if len(wants) != 1 || string(wants[0].Key) != "/services/web/" || len(c.Wants()) != 0 {
		t.Fatalf("wants %v, want /services/web/ once", wants)
	}
	snapRev, snap := e.rev, e.snapshot()
	feed(op{key: "/services/web/1", del: true})
	if err := c.LoadRange(wants[0].Key, wants[0].RangeEnd, snapRev, snap); err != nil {
		t.Fatal(err)
	}
	if !c.ServesRange(web.Key, web.RangeEnd) {
		t.Fatal("a loaded range is not served")
	}
	resp, ok := c.Range(web)
	if !ok || len(resp.Kvs) != 1 || string(resp.Kvs[0].Key) != "/services/web/2" {
		t.Fatalf("range after a load and a later delete: %v, %v", resp, ok)
	}
	if _, ok := c.Range(&pb.RangeRequest{Key: web.Key, RangeEnd: web.RangeEnd, Revision: snapRev - 1}); ok {
		t.Fatal("a revision older than the range's load was served")
	}
	if c.ServesRange([]byte("/services/db/1"), nil) {
		t.Fatal("a key outside the loaded range is served")
	}

	// Idle for Linger: the watcher left, no read since; the range goes.
	s.Close()
	c.Tick(now.Add(time.Minute))
	if len(c.held.all) != 2 { // web, and db/1 (wanted by the read above)
		t.Fatalf("%d ranges held just at Linger, want 2", len(c.held.all))
	}
	next, ok := c.NextDeadline()
	if !ok {
		t.Fatal("no deadline for dropping idle ranges")
	}
	c.Tick(next)
	if len(c.held.all) != 0 || len(c.kv.kvs) != 0 {
		t.Fatalf("after Linger idle: %d ranges held, %d keys kept", len(c.held.all), len(c.kv.kvs))
	}
	before := c.window.events // web/2's put and web/1's delete, until they age out
	feed(op{key: "/services/web/3", value: "f"})
	if c.window.events != before {
		t.Fatalf("a dropped range's events are still recorded: %d in the window", c.window.events)
	}
}

// TestLoadRangesKeepsWhatTheSnapshotCovers: a resynchronizing snapshot of
// the kept ranges only (what the feed reads for an on-demand cache) keeps
// the ranges it covers, at its revision, and lets go of the others, which
// the next read wants again.
func TestLoadRangesKeepsWhatTheSnapshotCovers(t *testing.T) {
	c, err := NewCache(Config{Prefixes: []string{"/services/"}, OnDemand: true})
	if err != nil {
		t.Fatal(err)
	}
	e := newFakeEtcd()
	e.txn(op{key: "/services/web/1", value: "a"}, op{key: "/services/db/1", value: "b"})
	if _, err := c.LoadRanges(e.rev, nil, nil, 0); err != nil {
		t.Fatal(err)
	}
	web := RangeRequest{Key: []byte("/services/web/"), RangeEnd: []byte("/services/web0")}
	db := RangeRequest{Key: []byte("/services/db/"), RangeEnd: []byte("/services/db0")}
	for _, r := range []RangeRequest{web, db} {
		c.ServesRange(r.Key, r.RangeEnd)
	}
	for _, w := range c.Wants() {
		if err := c.LoadRange(w.Key, w.RangeEnd, e.rev, e.snapshot()); err != nil {
			t.Fatal(err)
		}
	}
	kept, partial := c.KeptRanges()
	if !partial || len(kept) != 2 {
		t.Fatalf("kept %v (partial %v), want web and db", kept, partial)
	}
	e.txn(op{key: "/services/web/2", value: "c"}, op{key: "/services/db/2", value: "d"})
	var covered []*mvccpb.KeyValue
	for _, kv := range e.snapshot() {
		if requestSpan(web.Key, web.RangeEnd).contains(kv.Key) {
			covered = append(covered, kv)
		}
	}
	if _, err := c.LoadRanges(e.rev, []RangeRequest{web}, covered, 0); err != nil {
		t.Fatal(err)
	}
	if resp, ok := c.Range(&pb.RangeRequest{Key: web.Key, RangeEnd: web.RangeEnd}); !ok || len(resp.Kvs) != 2 {
		t.Fatalf("the covered range after the snapshot: %v, %v; want web/1 and web/2", resp, ok)
	}
	if c.ServesRange(db.Key, db.RangeEnd) {
		t.Fatal("a range the snapshot did not cover is still served")
	}
	if w := c.Wants(); len(w) != 1 || string(w[0].Key) != string(db.Key) {
		t.Fatalf("wants %v after a read of the uncovered range, want db", w)
	}
	all, err := NewCache(Config{Prefixes: []string{"/services/"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := all.LoadRanges(e.rev, []RangeRequest{web}, covered, 0); err == nil {
		t.Fatal("a cache that keeps every key took a snapshot of one range")
	}
}

// TestAFailedRangeReadWaitsBeforeTheNext: a range the driver could not
// read is not wanted again for loadRetryAfter, so that a herald whose own
// reads fail does not double every client read of it at etcd.
func TestAFailedRangeReadWaitsBeforeTheNext(t *testing.T) {
	c, err := NewCache(Config{Prefixes: []string{"/services/"}, OnDemand: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Tick(now)
	if _, err := c.Load(1, nil, 0); err != nil {
		t.Fatal(err)
	}
	key, end := []byte("/services/web/"), []byte("/services/web0")
	c.ServesRange(key, end)
	if w := c.Wants(); len(w) != 1 {
		t.Fatalf("wants %v, want the range once", w)
	}
	c.LoadRangeFailed(key, end)
	c.Tick(now.Add(loadRetryAfter - time.Millisecond))
	if c.ServesRange(key, end) || len(c.Wants()) != 0 {
		t.Fatal("a range whose read failed is wanted again at once")
	}
	c.Tick(now.Add(loadRetryAfter))
	if c.ServesRange(key, end) || len(c.Wants()) != 1 {
		t.Fatal("a range whose read failed is not wanted again after loadRetryAfter")
	}
}

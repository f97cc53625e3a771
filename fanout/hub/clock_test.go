package hub_test

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/tests/harness"
)

// TestProgressNotifyAtTheCachesDeadline: the hub's clock sleeps until the
// cache's next deadline rather than ticking at a fixed rate, and still
// keeps etcd's progress ticker: an idle progress_notify watcher gets an
// empty response with its id and the cache's revision every interval,
// while a watcher without progress_notify on the same stream gets none (its
// first response is the event that a write later brings). The hub runs on
// a manual clock: each interval is one move of it.
func TestProgressNotifyAtTheCachesDeadline(t *testing.T) {
	e := startEtcd(t)
	const interval = 10 * time.Second
	clk := clock.NewManual(time.Now())
	viaHub, _ := e.startHubWith(t, hub.Config{Name: "clock", Clock: clk,
		Options: hub.Options{Prefixes: []string{"/clock/"}, ProgressNotifyInterval: interval}})
	ctx := harness.Context(t, harness.DefaultPatience)
	ws, err := pb.NewWatchClient(viaHub.ActiveConnection()).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, progress := range []bool{true, false} {
		create := &pb.WatchCreateRequest{Key: []byte("/clock/key"), WatchId: int64(id), ProgressNotify: progress}
		if err := ws.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: create}}); err != nil {
			t.Fatal(err)
		}
		if resp, err := ws.Recv(); err != nil || !resp.Created || resp.WatchId != int64(id) {
			t.Fatalf("create %d: %v %v", id, resp, err)
		}
	}
	rev := func() int64 {
		resp, err := e.direct.Get(ctx, "/clock/none")
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	at := rev()
	for i := range 3 {
		// The hub's timer is armed for the watcher's next notification.
		harness.WaitUntil(t, "the hub's clock armed", harness.DefaultPatience, func() bool { return clk.Timers() == 1 })
		clk.Advance(interval)
		resp, err := ws.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.WatchId != 0 || len(resp.Events) != 0 || resp.Header.Revision != at {
			t.Fatalf("response %d: want watch 0's progress notification at revision %d, got %v", i, at, resp)
		}
	}
	put, err := e.direct.Put(ctx, "/clock/key", "v")
	if err != nil {
		t.Fatal(err)
	}
	// Both watchers get the event; watch 0's progress notifications may
	// come around it, watch 1 gets nothing else.
	got := map[int64]bool{}
	for len(got) < 2 {
		resp, err := ws.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Events) == 0 {
			if resp.WatchId != 0 {
				t.Fatalf("watch %d without progress_notify got %v", resp.WatchId, resp)
			}
			continue
		}
		if ev := resp.Events[0]; len(resp.Events) != 1 || ev.Kv.ModRevision != put.Header.Revision {
			t.Fatalf("watch %d: want the put at revision %d, got %v", resp.WatchId, put.Header.Revision, resp)
		}
		got[resp.WatchId] = true
	}
}

// TestStatsSinceAdvanceOnTheHubsClock: Stats' SinceAdvance is read on the
// hub's clock: zero while the clock stands still after the cache moved,
// exactly what the clock moved since.
func TestStatsSinceAdvanceOnTheHubsClock(t *testing.T) {
	e := startEtcd(t)
	clk := clock.NewManual(time.Now())
	_, h := e.startHubWith(t, hub.Config{Name: "stats", Clock: clk, Options: hub.Options{Prefixes: []string{"/stats/"}}})
	put, err := e.direct.Put(harness.Context(t, harness.DefaultPatience), "/stats/key", "v")
	if err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, "the put in the hub's cache", harness.DefaultPatience, func() bool { return h.Stats().Rev >= put.Header.Revision })
	if got := h.Stats().SinceAdvance; got != 0 {
		t.Fatalf("SinceAdvance %v with the clock standing still, want 0", got)
	}
	clk.Advance(7 * time.Second)
	if got := h.Stats().SinceAdvance; got != 7*time.Second {
		t.Fatalf("SinceAdvance %v after the clock moved 7 s, want 7s", got)
	}
}

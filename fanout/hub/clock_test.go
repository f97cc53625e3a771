package hub_test

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout/hub"
)

// TestProgressNotifyAtTheCachesDeadline: the hub's clock sleeps until the
// cache's next deadline rather than ticking at a fixed rate, and still
// keeps etcd's progress ticker: an idle progress_notify watcher gets an
// empty response with its id and the cache's revision every interval,
// while a watcher without progress_notify on the same stream gets none (its
// first response is the event that a write later brings).
func TestProgressNotifyAtTheCachesDeadline(t *testing.T) {
	e := startEtcd(t)
	viaHub := e.startHub(t, "clock", nil, hub.Options{Prefixes: []string{"/clock/"}, ProgressNotifyInterval: 100 * time.Millisecond})
	ctx := ctxT(t)
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

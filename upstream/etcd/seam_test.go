package etcd

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream"
)

// seamEnv is a real etcd member and a Client of it, as an upstream.Upstream.
func seamEnv(t *testing.T) (upstream.Upstream, context.Context) {
	t.Helper()
	emb, err := embedetcd.Start(embedetcd.Config{DataDir: filepath.Join(t.TempDir(), "d"), ClientAddr: harness.FreeAddr(t), PeerAddr: harness.FreeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	c, err := Dial(Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c, ctx
}

// next receives answers until one satisfies want.
func next(t *testing.T, w upstream.WatchStream, what string, want func(*pb.WatchResponse) bool) *pb.WatchResponse {
	t.Helper()
	for {
		resp, err := w.Recv()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if want(resp) {
			return resp
		}
	}
}

// TestWatchStreamSharesOneEtcdStream: watches created on one WatchStream
// are etcd's watches on one stream: etcd numbers them in creation order,
// tells their events apart by watch ID, answers a progress request with
// watch ID -1, and cancels the one named.
func TestWatchStreamSharesOneEtcdStream(t *testing.T) {
	up, ctx := seamEnv(t)
	w, err := up.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"/a/", "/b/"} {
		if err := w.Create(&pb.WatchCreateRequest{Key: []byte(k), RangeEnd: []byte(k[:2] + "0")}); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(0); id < 2; id++ {
		if r := next(t, w, "created", func(r *pb.WatchResponse) bool { return r.Created }); r.WatchId != id {
			t.Fatalf("created watch %d, want %d (etcd numbers a stream's watches in order)", r.WatchId, id)
		}
	}
	put, err := up.Put(ctx, &pb.PutRequest{Key: []byte("/b/1"), Value: []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	r := next(t, w, "the put", func(r *pb.WatchResponse) bool { return len(r.Events) > 0 })
	if r.WatchId != 1 || string(r.Events[0].Kv.Key) != "/b/1" || r.Events[0].Kv.ModRevision != put.Header.Revision {
		t.Fatalf("event %v on watch %d, want /b/1 at %d on watch 1", r.Events, r.WatchId, put.Header.Revision)
	}
	if err := w.RequestProgress(); err != nil {
		t.Fatal(err)
	}
	r = next(t, w, "progress", func(r *pb.WatchResponse) bool { return len(r.Events) == 0 && !r.Created })
	if r.WatchId != -1 || r.Header.Revision != put.Header.Revision {
		t.Fatalf("progress answer on watch %d at %d, want watch -1 at %d", r.WatchId, r.Header.Revision, put.Header.Revision)
	}
	if err := w.Cancel(1); err != nil {
		t.Fatal(err)
	}
	if r := next(t, w, "cancel", func(r *pb.WatchResponse) bool { return r.Canceled }); r.WatchId != 1 {
		t.Fatalf("cancelled watch %d, want 1", r.WatchId)
	}
	put, err = up.Put(ctx, &pb.PutRequest{Key: []byte("/a/1"), Value: []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	r = next(t, w, "the second put", func(r *pb.WatchResponse) bool { return len(r.Events) > 0 })
	if r.WatchId != 0 || r.Events[0].Kv.ModRevision != put.Header.Revision {
		t.Fatalf("event at %d on watch %d, want %d on watch 0 (the watch left running)", r.Events[0].Kv.ModRevision, r.WatchId, put.Header.Revision)
	}
	if err := w.CloseSend(); err != nil {
		t.Fatal(err)
	}
}

// TestWatchStreamCompactedStart: a watch from a compacted revision is
// cancelled with etcd's compact revision.
func TestWatchStreamCompactedStart(t *testing.T) {
	up, ctx := seamEnv(t)
	var rev int64
	for i := range 3 {
		resp, err := up.Put(ctx, &pb.PutRequest{Key: []byte(fmt.Sprint("k", i)), Value: []byte("v")})
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	if _, err := up.Compact(ctx, &pb.CompactionRequest{Revision: rev}); err != nil {
		t.Fatal(err)
	}
	w, err := up.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Create(&pb.WatchCreateRequest{Key: []byte("k"), StartRevision: 1}); err != nil {
		t.Fatal(err)
	}
	r := next(t, w, "the compacted cancel", func(r *pb.WatchResponse) bool { return r.Canceled })
	if r.CompactRevision != rev {
		t.Fatalf("cancelled with compact revision %d, want %d", r.CompactRevision, rev)
	}
}

// TestKeeperRenewsInOrder: a Keeper's answers come in the order of its
// keepalives, with TTL 0 for a lease etcd does not know.
func TestKeeperRenewsInOrder(t *testing.T) {
	up, ctx := seamEnv(t)
	g, err := up.Grant(ctx, &pb.LeaseGrantRequest{TTL: 30})
	if err != nil {
		t.Fatal(err)
	}
	k, err := up.KeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const unknown = 0x7777
	for _, id := range []int64{g.ID, unknown, g.ID} {
		if err := k.KeepAlive(id); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct{ id, ttl int64 }{{g.ID, 30}, {unknown, 0}, {g.ID, 30}} {
		resp, err := k.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ID != want.id || (want.ttl == 0) != (resp.TTL == 0) {
			t.Fatalf("answer %d TTL %d, want %d TTL %d", resp.ID, resp.TTL, want.id, want.ttl)
		}
	}
	if _, err := up.Revoke(ctx, &pb.LeaseRevokeRequest{ID: g.ID}); err != nil {
		t.Fatal(err)
	}
	ttl, err := up.TimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: g.ID})
	if err != nil || ttl.TTL != -1 {
		t.Fatalf("time to live after revoke: %v, %v; want TTL -1", ttl, err)
	}
}

package hub_test

import (
	"context"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/tests/harness"
)

// localRead asks the hub for a serializable Range of r until it answers
// from its cache at revision atLeast or later (the first read of a range
// loads it from etcd in the background), and returns the answer.
func localRead(t *testing.T, h *hub.Hub, r *pb.RangeRequest, atLeast int64) *pb.RangeResponse {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, ok := h.RangeLocal(r); ok && resp.Header.Revision >= atLeast {
			return resp
		}
		if time.Now().After(deadline) {
			t.Fatalf("range %q..%q: not served from the cache at revision %d or later within 10 s", r.Key, r.RangeEnd, atLeast)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameKVs fails unless the cache's answer holds etcd's key-values.
func sameKVs(t *testing.T, got, want *pb.RangeResponse) {
	t.Helper()
	if len(got.Kvs) != len(want.Kvs) || got.Count != want.Count {
		t.Fatalf("from the cache %v (count %d), etcd %v (count %d)", got.Kvs, got.Count, want.Kvs, want.Count)
	}
	for i := range want.Kvs {
		if !proto.Equal(got.Kvs[i], want.Kvs[i]) {
			t.Fatalf("from the cache %v, etcd %v", got.Kvs, want.Kvs)
		}
	}
}

// TestRangesLoadOnDemand: a herald's cache keeps the key-values of the
// ranges its clients read, from the first read on (that read goes to etcd),
// current with later writes, and nothing else; with CacheAll it keeps the
// whole prefix from the start.
func TestRangesLoadOnDemand(t *testing.T) {
	e := startEtcd(t)
	ctx := harness.Context(t, time.Minute)
	for _, k := range []string{"/services/a/1", "/services/a/2", "/services/b/1", "/other/x"} {
		if _, err := e.direct.Put(ctx, k, "v-"+k); err != nil {
			t.Fatal(err)
		}
	}
	_, h := e.startHubWith(t, hub.Config{Options: hub.Options{Prefixes: []string{"/services/"}}, Name: "h1"})
	a := &pb.RangeRequest{Key: []byte("/services/a/"), RangeEnd: []byte("/services/a0"), Serializable: true}
	b := &pb.RangeRequest{Key: []byte("/services/b/1"), Serializable: true}
	if _, ok := h.RangeLocal(a); ok {
		t.Fatal("the first read of a range was served from a cache that keeps only what was asked for")
	}
	etcdRange := func(r *pb.RangeRequest) *pb.RangeResponse {
		t.Helper()
		resp, err := pb.NewKVClient(e.direct.ActiveConnection()).Range(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	sameKVs(t, localRead(t, h, a, 0), etcdRange(a))
	if _, ok := h.RangeLocal(b); ok {
		t.Fatal("a range outside the loaded one was served from the cache")
	}

	// Writes after the load reach the loaded range.
	put, err := e.direct.Put(ctx, "/services/a/3", "new")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.direct.Delete(ctx, "/services/a/1"); err != nil {
		t.Fatal(err)
	}
	got := localRead(t, h, a, put.Header.Revision+1)
	sameKVs(t, got, etcdRange(&pb.RangeRequest{Key: a.Key, RangeEnd: a.RangeEnd, Revision: got.Header.Revision}))
	// A range inside the loaded one is served at once.
	one := &pb.RangeRequest{Key: []byte("/services/a/3"), Serializable: true}
	if resp, ok := h.RangeLocal(one); !ok || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "new" {
		t.Fatalf("a key of the loaded range: %v, %v", resp, ok)
	}

	_, all := e.startHubWith(t, hub.Config{Options: hub.Options{Prefixes: []string{"/services/"}, CacheAll: true}, Name: "h2"})
	if resp, ok := all.RangeLocal(b); !ok || len(resp.Kvs) != 1 {
		t.Fatalf("CacheAll: the first read of a key was not served from the cache: %v, %v", resp, ok)
	}
}

package fanout

import (
	"fmt"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// BenchmarkApply: one event into a cache serving 10 streams of 1000
// watchers on distinct keys, then every stream's Ready. Watcher matching is
// a scan (no interval index yet), so this is the per-event cost to watch.
func BenchmarkApply(b *testing.B) {
	c := emptyCache(b, Config{Prefixes: []string{"/services/"}, MaxEvents: 10_000})
	streams := watchStreams(c, 10, 1000, func(s, w int) *pb.WatchCreateRequest {
		return &pb.WatchCreateRequest{Key: []byte(fmt.Sprintf("/services/%d/%d", s, w))}
	})
	rev := int64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("/services/%d/%d", i%10, i%1000)
		ev := &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(key), Value: []byte("v"), CreateRevision: rev + 1, ModRevision: rev + 1, Version: 1}}
		if _, err := c.Apply(Batch{PrevRev: rev, Rev: rev + 1, Events: []*mvccpb.Event{ev}}); err != nil {
			b.Fatal(err)
		}
		rev++
		for _, st := range streams {
			if st.HasReady() {
				st.Ready()
			}
		}
	}
}

// BenchmarkApplyOneHotPrefix is the founding scenario's shape: 50 streams
// of 100 watchers, every watcher on /services/web/, and revisions of 40
// events of which one is under /services/web/ (a rack's expiry deletes the
// keys of every service at once). Per revision, every watcher gets its one
// event.
func BenchmarkApplyOneHotPrefix(b *testing.B) {
	c := emptyCache(b, Config{Prefixes: []string{"/services/"}, MaxEvents: 100_000})
	streams := watchStreams(c, 50, 100, func(int, int) *pb.WatchCreateRequest {
		return &pb.WatchCreateRequest{Key: []byte("/services/web/"), RangeEnd: []byte("/services/web0")}
	})
	rev := int64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs := make([]*mvccpb.Event, 40)
		for j := range evs {
			service := fmt.Sprintf("s%02d", j)
			if j == 20 {
				service = "web"
			}
			key := fmt.Sprintf("/services/%s/r9-n%d", service, i)
			evs[j] = &mvccpb.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: []byte(key), ModRevision: rev + 1}}
		}
		if _, err := c.Apply(Batch{PrevRev: rev, Rev: rev + 1, Events: evs}); err != nil {
			b.Fatal(err)
		}
		rev++
		for _, st := range streams {
			if st.HasReady() {
				st.Ready()
			}
		}
	}
}

// emptyCache is a cache of cfg loaded empty at revision 1.
func emptyCache(tb testing.TB, cfg Config) *Cache {
	tb.Helper()
	c, err := NewCache(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Load(1, nil, 0); err != nil {
		tb.Fatal(err)
	}
	return c
}

// watchStreams opens n streams of per watchers each on c, create giving
// the request of watcher w of stream s, and takes their created responses.
func watchStreams(c *Cache, n, per int, create func(s, w int) *pb.WatchCreateRequest) []*Stream {
	var streams []*Stream
	for s := range n {
		st := c.NewStream()
		for w := range per {
			st.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: create(s, w)}})
		}
		st.Ready()
		streams = append(streams, st)
	}
	return streams
}

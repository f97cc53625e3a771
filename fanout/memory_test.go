package fanout

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/internal/heapstat"
)

// BenchmarkCacheMemory reports the heap one herald's fan-out cache takes
// per key of the founding scenario (issue 15) that it is fed: 50 000
// registrations /services/<service>/r<rack>-n<node> = "up" over 100
// services, each put at a revision of its own as the feeders deliver them,
// first with every put still in the event window (the herald's default
// bounds: 100 000 events, 64 MiB, 10 min) and then once the window has aged
// out, what the cache holds for good. "all" keeps every key
// (--fanout-cache-all); "on-demand" (the default) is a herald whose clients
// watch and read one service, s00:
//
//	go test -run '^$' -bench '^BenchmarkCacheMemory$' -benchtime 1x ./fanout/
func BenchmarkCacheMemory(b *testing.B) {
	const keys, services = 50_000, 100
	cfg := Config{Prefixes: []string{"/services/"}, MaxEvents: 100_000, MaxBytes: 64 << 20, MaxAge: 10 * time.Minute}
	b.Run("all", func(b *testing.B) { cacheMemory(b, cfg, keys, nil, keys) })
	cfg.OnDemand = true
	cfg.Linger = time.Hour // the service stays read
	b.Run("on-demand", func(b *testing.B) {
		cacheMemory(b, cfg, keys, func(c *Cache) {
			key, end := []byte("/services/s00/"), []byte("/services/s000")
			s := c.NewStream()
			s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: key, RangeEnd: end}}})
			c.ServesRange(key, end)
			c.Wants()
			if err := c.LoadRange(key, end, c.Rev(), nil); err != nil {
				b.Fatal(err)
			}
		}, keys/services)
	})
}

// cacheMemory feeds a cache built from cfg, after setup, n keys of the
// scenario and checks that it holds kept of them.
func cacheMemory(b *testing.B, cfg Config, n int, setup func(*Cache), kept int) {
	for range b.N {
		before := heapstat.Live()
		c := emptyCache(b, cfg)
		start := time.Unix(0, 0)
		c.Tick(start)
		if setup != nil {
			setup(c)
		}
		for i := range n {
			rev := int64(i + 2)
			key := fmt.Sprintf("/services/s%02d/r%02d-n%05d", i%100, i%10, i/10)
			ev := &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(key), Value: []byte("up"), CreateRevision: rev, ModRevision: rev, Version: 1, Lease: 0x2312_0000_0000_0000 + int64(i)}}
			if _, err := c.Apply(Batch{PrevRev: rev - 1, Rev: rev, Events: []*mvccpb.Event{ev}}); err != nil {
				b.Fatal(err)
			}
		}
		windowed := heapstat.Live()
		c.Tick(start.Add(11 * time.Minute))
		aged := heapstat.Live()
		if got := len(c.kv.kvs); got != kept {
			b.Fatalf("the cache holds %d keys, want %d", got, kept)
		}
		if w := c.window.events; w != 0 {
			b.Fatalf("the window still holds %d events after its age", w)
		}
		b.ReportMetric(float64(windowed-before)/float64(n), "B/key-with-window")
		b.ReportMetric(float64(int64(aged)-int64(before))/float64(n), "B/key-aged")
		runtime.KeepAlive(c)
	}
}

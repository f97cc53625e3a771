package fanout

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/internal/heapstat"
)

// BenchmarkCacheMemory reports the heap one herald's fan-out cache takes
// per key of the founding scenario (issue 15): 50 000 registrations
// /services/<service>/r<rack>-n<node> = "up", each put at a revision of its
// own as the feeders deliver them, first with every put still in the event
// window (the herald's default bounds: 100 000 events, 64 MiB, 10 min) and
// then once the window has aged out, what the cache holds for good:
//
//	go test -run '^$' -bench '^BenchmarkCacheMemory$' -benchtime 1x ./fanout/
func BenchmarkCacheMemory(b *testing.B) {
	const keys = 50_000
	for range b.N {
		before := heapstat.Live()
		c := emptyCache(b, Config{Prefixes: []string{"/services/"}, MaxEvents: 100_000, MaxBytes: 64 << 20, MaxAge: 10 * time.Minute})
		start := time.Unix(0, 0)
		c.Tick(start)
		for i := range keys {
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
		if n := len(c.kv.kvs); n != keys {
			b.Fatalf("the cache holds %d keys, want %d", n, keys)
		}
		if w := c.window.events; w != 0 {
			b.Fatalf("the window still holds %d events after its age", w)
		}
		b.ReportMetric(float64(windowed-before)/keys, "B/key-with-window")
		b.ReportMetric(float64(int64(aged)-int64(before))/keys, "B/key-aged")
		runtime.KeepAlive(c)
	}
}

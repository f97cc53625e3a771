package etcd

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// TestInflightDrain: drain names the calls still open after its wait and
// returns as soon as the last one ends.
func TestInflightDrain(t *testing.T) {
	f := newInflight()
	a := f.begin("/etcdserverpb.KV/Range")
	b := f.begin("/etcdserverpb.Lease/LeaseRevoke")
	a2 := f.begin("/etcdserverpb.KV/Range")
	if got, want := f.drain(time.Millisecond), []string{"/etcdserverpb.KV/Range", "/etcdserverpb.KV/Range", "/etcdserverpb.Lease/LeaseRevoke"}; !slices.Equal(got, want) {
		t.Fatalf("open calls %v, want %v", got, want)
	}
	f.end(a)
	f.end(b)
	f.end(a2)
	if got := f.drain(time.Hour); len(got) != 0 {
		t.Fatalf("open calls %v after all ended", got)
	}
	c := f.begin("/etcdserverpb.KV/Txn")
	go f.end(c)
	if got := f.drain(time.Hour); len(got) != 0 {
		t.Fatalf("open calls %v after the last ended", got)
	}
}

// TestInflightDrainWaitsForConcurrentCalls: calls that begin and end on
// many goroutines while drain waits leave nothing open, and drain returns
// once they are done (a lost wake-up would hang it for the hour).
func TestInflightDrainWaitsForConcurrentCalls(t *testing.T) {
	f := newInflight()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		c := f.begin("/etcdserverpb.KV/Put")
		wg.Go(func() {
			<-start
			for range 100 * (g + 1) {
				f.end(f.begin("/etcdserverpb.KV/Range"))
			}
			f.end(c)
		})
	}
	close(start)
	if got := f.drain(time.Hour); len(got) != 0 {
		t.Fatalf("open calls %v after every call ended", got)
	}
	wg.Wait()
}

// BenchmarkInflight is the cost that every upstream call pays for Close's
// diagnostic.
func BenchmarkInflight(b *testing.B) {
	f := newInflight()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.end(f.begin("/etcdserverpb.KV/Range"))
		}
	})
}

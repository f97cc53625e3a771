package etcd

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// inflight counts the unary calls herald has open on the upstream
// connection. Closing the connection under a call that etcd is still
// working on makes the member log a plain-text gRPC warning ("processUnaryRPC
// failed to write status: transport is closing"), so Close first waits for
// them, and names any that outlive the wait.
//
// Every call passes through begin and end, so they take no lock: a few
// atomic operations and a read of a map that only grows (one counter per
// method, created on the method's first call).
type inflight struct {
	open     atomic.Int64
	methods  sync.Map // method → *atomic.Int64, its open calls
	draining atomic.Bool
	idle     chan struct{} // (1) signalled when open drops to 0 while draining
}

func newInflight() *inflight { return &inflight{idle: make(chan struct{}, 1)} }

// begin counts a call of method as open; pass what it returns to end.
func (f *inflight) begin(method string) *atomic.Int64 {
	n, ok := f.methods.Load(method)
	if !ok {
		n, _ = f.methods.LoadOrStore(method, new(atomic.Int64))
	}
	c := n.(*atomic.Int64)
	c.Add(1)
	f.open.Add(1)
	return c
}

// end counts a call as ended. Either it sees draining set, or drain sees
// open at 0: atomics are sequentially consistent.
func (f *inflight) end(c *atomic.Int64) {
	c.Add(-1)
	if f.open.Add(-1) == 0 && f.draining.Load() {
		select {
		case f.idle <- struct{}{}:
		default:
		}
	}
}

// drain waits up to d for the open calls to end and returns the methods of
// those still open (a method once per open call).
func (f *inflight) drain(d time.Duration) []string {
	f.draining.Store(true)
	t := time.NewTimer(d)
	defer t.Stop()
wait:
	for f.open.Load() > 0 {
		select {
		case <-f.idle:
		case <-t.C:
			break wait
		}
	}
	var open []string
	f.methods.Range(func(m, n any) bool {
		for range n.(*atomic.Int64).Load() {
			open = append(open, m.(string))
		}
		return true
	})
	sort.Strings(open)
	return open
}

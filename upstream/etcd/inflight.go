package etcd

import (
	"context"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// inflight counts the unary calls herald has open on the upstream
// connection. Closing the connection under a call that etcd is still
// working on makes the member log a plain-text gRPC warning ("processUnaryRPC
// failed to write status: transport is closing"), so Close first waits for
// them, and names any that outlive the wait.
type inflight struct {
	mu    sync.Mutex
	calls map[uint64]string // open call → its method
	next  uint64
	idle  chan struct{} // closed when calls becomes empty; nil while empty
}

func newInflight() *inflight { return &inflight{calls: make(map[uint64]string)} }

func (f *inflight) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	id := f.open(method)
	defer f.close(id)
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (f *inflight) open(method string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.calls[f.next] = method
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	return f.next
}

func (f *inflight) close(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.calls, id)
	if len(f.calls) == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// drain waits up to d for the open calls to end and returns the methods of
// those still open.
func (f *inflight) drain(d time.Duration) []string {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	if idle != nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	open := make([]string, 0, len(f.calls))
	for _, m := range f.calls {
		open = append(open, m)
	}
	sort.Strings(open)
	return open
}

package proxy

import (
	"context"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// maxQueuedAnswers bounds the leases whose answers wait for one client.
const maxQueuedAnswers = 1 << 16

// kaAnswers are one client keepalive stream's answers on their way to the
// client. herald renews a lease when it reads the keepalive, and the answer
// waits here, so that a client slow to read its answers (gRPC's Send blocks
// once the stream's flow-control window is full: a node busy with a burst
// of watch events) does not stop herald from reading, and renewing, its next
// keepalives in time. Answers about one lease coalesce: the client gets the
// latest, which is all clientv3's lessor keeps. With maxQueuedAnswers leases
// waiting, a further one waits for room, as etcd's keepalive loop waits for
// its Send.
type kaAnswers struct {
	mu      sync.Mutex
	pending map[int64]*pb.LeaseKeepAliveResponse
	order   []int64 // the leases in pending, oldest first

	ready  chan struct{} // 1-buffered: pending has answers
	room   chan struct{} // 1-buffered: the sender took what was pending
	closed chan struct{} // closed by close: send what is pending, then stop
	once   sync.Once
}

func newKAAnswers() *kaAnswers {
	return &kaAnswers{pending: map[int64]*pb.LeaseKeepAliveResponse{},
		ready: make(chan struct{}, 1), room: make(chan struct{}, 1), closed: make(chan struct{})}
}

// put queues resp for the client, replacing an answer about the same lease
// that is still waiting.
func (q *kaAnswers) put(ctx context.Context, resp *pb.LeaseKeepAliveResponse) error {
	for {
		q.mu.Lock()
		_, waiting := q.pending[resp.ID]
		if waiting || len(q.pending) < maxQueuedAnswers {
			if !waiting {
				q.order = append(q.order, resp.ID)
			}
			q.pending[resp.ID] = resp
			q.mu.Unlock()
			notify(q.ready)
			return nil
		}
		q.mu.Unlock()
		select {
		case <-q.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take empties the queue and returns what it held, oldest lease first.
func (q *kaAnswers) take() []*pb.LeaseKeepAliveResponse {
	q.mu.Lock()
	out := make([]*pb.LeaseKeepAliveResponse, 0, len(q.order))
	for _, id := range q.order {
		out = append(out, q.pending[id])
	}
	clear(q.pending)
	q.order = q.order[:0]
	q.mu.Unlock()
	notify(q.room)
	return out
}

// run sends the queued answers with send until ctx ends (ctx's error), a
// send fails (its error) or close was called and what was queued before
// has been sent (nil).
func (q *kaAnswers) run(ctx context.Context, send func(*pb.LeaseKeepAliveResponse) error) error {
	for {
		last := false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-q.ready:
		case <-q.closed:
			last = true
		}
		for _, r := range q.take() {
			if err := send(r); err != nil {
				return err
			}
		}
		if last {
			return nil
		}
	}
}

// close makes run return once it has sent what is queued.
func (q *kaAnswers) close() { q.once.Do(func() { close(q.closed) }) }

// notify wakes the waiter on a 1-buffered channel, if it is not woken yet.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

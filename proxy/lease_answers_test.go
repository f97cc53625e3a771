package proxy

import (
	"context"
	"errors"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// TestAnswersCoalesceByLease: answers that wait for the client keep the
// order in which their leases first waited, the latest answer of each; close
// sends what waits, then run returns nil.
func TestAnswersCoalesceByLease(t *testing.T) {
	q := newKAAnswers()
	ctx := context.Background()
	for _, r := range []*pb.LeaseKeepAliveResponse{{ID: 1, TTL: 10}, {ID: 2, TTL: 10}, {ID: 1, TTL: 9}, {ID: 3, TTL: 0}} {
		if err := q.put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	q.close()
	var got []*pb.LeaseKeepAliveResponse
	if err := q.run(ctx, func(r *pb.LeaseKeepAliveResponse) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("run after close: %v", err)
	}
	want := []struct{ id, ttl int64 }{{1, 9}, {2, 10}, {3, 0}}
	if len(got) != len(want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].ID != w.id || got[i].TTL != w.ttl {
			t.Fatalf("answer %d: %v, want lease %d TTL %d", i, got[i], w.id, w.ttl)
		}
	}
}

// TestAnswersFailedSendEndsRun: the client's Send failing ends run with
// its error; a full queue makes put wait for room, until its ctx ends.
func TestAnswersFailedSendEndsRun(t *testing.T) {
	q := newKAAnswers()
	broken := errors.New("stream broken")
	if err := q.put(context.Background(), &pb.LeaseKeepAliveResponse{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := q.run(context.Background(), func(*pb.LeaseKeepAliveResponse) error { return broken }); !errors.Is(err, broken) {
		t.Fatalf("run: %v, want %v", err, broken)
	}
	for id := range int64(maxQueuedAnswers) {
		if err := q.put(context.Background(), &pb.LeaseKeepAliveResponse{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.put(context.Background(), &pb.LeaseKeepAliveResponse{ID: 7, TTL: 3}); err != nil {
		t.Fatalf("a lease already waiting takes no room: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.put(ctx, &pb.LeaseKeepAliveResponse{ID: maxQueuedAnswers}); !errors.Is(err, context.Canceled) {
		t.Fatalf("put into a full queue with its ctx ended: %v, want %v", err, context.Canceled)
	}
	if n := len(q.take()); n != maxQueuedAnswers {
		t.Fatalf("took %d answers, want %d", n, maxQueuedAnswers)
	}
}

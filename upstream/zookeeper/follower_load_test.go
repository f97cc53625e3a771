package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// randomWrite is one write of the load: a put, a delete of a key or of a
// prefix, or a txn of two puts, on keys of a few directories, some outside
// the followed range.
func randomWrite(r *rand.Rand) *pb.TxnRequest {
	key := func() []byte {
		dirs := []string{"/r/", "/r/a/", "/r/a/b/", "/r/c/", "/q/"}
		return []byte(fmt.Sprintf("%sk%d", dirs[r.IntN(len(dirs))], r.IntN(6)))
	}
	value := []byte(fmt.Sprint(r.Uint32()))
	switch n := r.IntN(10); {
	case n < 6:
		return &pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.PutRequest{Key: key(), Value: value})}}
	case n < 8:
		return &pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.DeleteRangeRequest{Key: key()})}}
	case n < 9:
		return &pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.DeleteRangeRequest{Key: []byte("/r/a/"), RangeEnd: []byte("/r/a0")})}}
	}
	a, b := key(), key()
	if string(a) == string(b) {
		return &pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.PutRequest{Key: a, Value: value})}}
	}
	return &pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.PutRequest{Key: a, Value: value}), op(&pb.PutRequest{Key: b, Value: value})}}
}

// load runs writers until stop is closed (or each has made n writes),
// counting the writes acknowledged in acked. Writes that fail with
// Unavailable (a server lost) are simply tried with the next write: the
// checks compare final states, not a write log.
func load(t *testing.T, c *Client, writers, n int, stop <-chan struct{}, acked *atomic.Int64) {
	var g errgroup.Group
	for w := range writers {
		g.Go(func() error {
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for range n {
				select {
				case <-stop:
					return nil
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.Txn(ctx, randomWrite(r))
				cancel()
				if s, _ := status.FromError(err); err != nil && s.Code() != codes.Unavailable && s.Code() != codes.DeadlineExceeded {
					return err
				}
				if err == nil {
					acked.Add(1)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Errorf("writer: %v", err)
	}
}

// consume applies the follower's batches to rp until ctx ends.
func consume(ctx context.Context, f *Follower, rp *replay) <-chan error {
	done := make(chan error, 1)
	go func() {
		for {
			b, err := f.Next(ctx)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					err = nil
				}
				done <- err
				return
			}
			rp.apply(b)
		}
	}()
	return done
}

// TestFollowerUnderConcurrentWrites: writers race on a few directories
// while the follower follows /r/, started before the writes or while they
// run (its start then has changes pending: its starting state is what it
// found up to its start revision). At the end, its starting state and
// events replayed give the store's state, key for key (value, version,
// create and mod revision); on the way, revisions never go back and no
// change repeats.
func TestFollowerUnderConcurrentWrites(t *testing.T) {
	for _, during := range []bool{false, true} {
		t.Run(fmt.Sprintf("started during the writes=%v", during), func(t *testing.T) {
			c := dialZK(t, nil, "")
			writer := dialZK(t, harness.SharedZooKeeper(t), c.paths.base[:len(c.paths.base)-len("/herald")])
			var acked atomic.Int64
			stop := make(chan struct{})
			loaded := make(chan struct{})
			startWrites := func() {
				go func() {
					defer close(loaded)
					load(t, writer, 4, 150, stop, &acked)
				}()
			}
			if during {
				startWrites()
				harness.WaitUntil(t, "writes under way", harness.DefaultPatience, func() bool { return acked.Load() > 10 })
			}
			f := follow(t, c, "/r/", "/r0")
			rp := &replay{t: t, state: map[string]*mvccpb.KeyValue{}, last: f.Revision()}
			for k, kv := range f.shown {
				rp.state[k] = kv
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := consume(ctx, f, rp)
			if !during {
				startWrites()
			}
			<-loaded
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Next: %v", err)
			}
			if acked.Load() == 0 || rp.events.Load() == 0 {
				t.Fatalf("%d writes acknowledged, %d events followed while they ran; the test tested nothing", acked.Load(), rp.events.Load())
			}
			rp.converge(writer, f, "/r/", "/r0")
		})
	}
}

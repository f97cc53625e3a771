package proxy_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// TestManyWatchStreamsLeaveNothingBehind opens thousands of watch streams
// through herald, lets the client vanish, and checks that every goroutine
// herald started for them (and the upstream streams) is gone. It counts
// goroutines by the function that started them: a stream's goroutines
// come by the thousand, the rest of the process (etcd's member, herald's
// loops) starts a few now and then; whatever the streams left behind shows
// as a creator that grew by a good share of them.
func TestManyWatchStreamsLeaveNothingBehind(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	before := harness.GoroutinesByCreator()

	const streams = 2000
	conn, err := grpc.NewClient(e.proxyAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	wc := pb.NewWatchClient(conn)
	sctx, cancel := context.WithCancel(ctx)
	var all []grpc.BidiStreamingClient[pb.WatchRequest, pb.WatchResponse]
	for i := 0; i < streams; i++ {
		s, err := wc.Watch(sctx)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		key := []byte("w/" + strconv.Itoa(i))
		if err := s.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: key}}}); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	for i, s := range all {
		resp, err := s.Recv()
		if err != nil || !resp.Created {
			t.Fatalf("stream %d: created=%v err=%v", i, resp.GetCreated(), err)
		}
	}
	// Every watcher sees its own key's change.
	if _, err := e.direct.Put(ctx, "w/7", "x"); err != nil {
		t.Fatal(err)
	}
	resp, err := all[7].Recv()
	if err != nil || len(resp.Events) != 1 || string(resp.Events[0].Kv.Key) != "w/7" {
		t.Fatalf("watch w/7: %v %v", resp, err)
	}
	// The count sees the streams: some creators grew by one per stream.
	if grown := grownBy(before, harness.GoroutinesByCreator(), streams); len(grown) == 0 {
		t.Fatalf("no creator of goroutines grew by %d with %d live streams: the count cannot see them", streams, streams)
	}

	// The client vanishes: streams cancelled, connection dropped.
	cancel()
	conn.Close()
	var left map[string]int
	if err := harness.Await(harness.DefaultPatience, func() error {
		if left = grownBy(before, harness.GoroutinesByCreator(), streams/20); len(left) > 0 {
			return fmt.Errorf("still running: %v", left)
		}
		return nil
	}); err != nil {
		t.Fatalf("goroutines left after %d streams ended (creator: how many more than before): %v", streams, err)
	}
}

// grownBy returns the creators of goroutines that have at least n more in
// after than in before, with how many more.
func grownBy(before, after map[string]int, n int) map[string]int {
	grown := map[string]int{}
	for creator, c := range after {
		if d := c - before[creator]; d >= n {
			grown[creator] = d
		}
	}
	return grown
}

// TestWatchEndsWhenUpstreamGoes closes the upstream under a live watch: the
// client's stream must end with an error, not hang.
func TestWatchEndsWhenUpstreamGoes(t *testing.T) {
	e := startEnv(t)
	s := watchOne(t, e.proxyAddr, "k")
	e.up.Close()
	_, err := s.Recv()
	if status.Code(err) != codes.Canceled {
		t.Fatalf("after upstream closed: %v, want code Canceled", err)
	}
}

// TestClientHalfCloseKeepsAnswers: after the client half-closes a watch
// stream, etcd keeps sending its events; so must herald.
func TestClientHalfCloseKeepsAnswers(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	s := watchOne(t, e.proxyAddr, "hc")
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.direct.Put(ctx, "hc", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		resp, err := s.Recv()
		if err != nil || len(resp.Events) != 1 || string(resp.Events[0].Kv.Value) != fmt.Sprint(i) {
			t.Fatalf("event %d after half-close: %v %v", i, resp, err)
		}
	}
}

// watchOne opens a raw watch stream to addr, watches key and waits for the
// created response.
func watchOne(t *testing.T, addr, key string) grpc.BidiStreamingClient[pb.WatchRequest, pb.WatchResponse] {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s, err := pb.NewWatchClient(conn).Watch(harness.Context(t, harness.DefaultPatience))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: []byte(key)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	return s
}

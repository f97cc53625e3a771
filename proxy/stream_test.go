package proxy_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// TestManyWatchStreamsLeaveNothingBehind opens thousands of watch streams
// through herald, lets the client vanish, and checks that every goroutine
// herald started for them (and the upstream streams) is gone.
func TestManyWatchStreamsLeaveNothingBehind(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	// Warm up: both clients connect lazily, and their connections live on.
	if _, err := e.viaHerald.Put(ctx, "w/warm", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.direct.Get(ctx, "w/warm"); err != nil {
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()

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

	// The client vanishes: streams cancelled, connection dropped.
	cancel()
	conn.Close()
	if err := harness.FindLeaks(before); err != nil {
		t.Fatalf("goroutines left after %d streams ended: %v", streams, err)
	}
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

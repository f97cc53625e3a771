package proxy_test

import (
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// TestGracefulStopEndsEndlessStreams: a stopping herald ends its clients'
// watch and keepalive streams itself, with Unavailable, so that they move
// to another endpoint at once, rather than holding them until its timeout
// and closing the connection under them.
func TestGracefulStopEndsEndlessStreams(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	conn := e.viaHerald.ActiveConnection()

	watch, err := pb.NewWatchClient(conn).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: []byte("/drain/")}}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || !resp.Created {
		t.Fatalf("watch create: %v %v", resp, err)
	}
	grant, err := e.viaHerald.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	ka, err := pb.NewLeaseClient(conn).LeaseKeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ka.Send(&pb.LeaseKeepAliveRequest{ID: int64(grant.ID)}); err != nil {
		t.Fatal(err)
	}
	if resp, err := ka.Recv(); err != nil || resp.TTL <= 0 {
		t.Fatalf("keepalive: %v %v", resp, err)
	}

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		e.srv.GracefulStop(time.Minute)
	}()
	expectDrained := func(what string, recv func() error) {
		t.Helper()
		err := recv()
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "shutting down") {
			t.Errorf("%s ended with %v; want Unavailable \"herald: shutting down…\"", what, err)
		}
	}
	expectDrained("watch", func() error { _, err := watch.Recv(); return err })
	expectDrained("keepalive", func() error { _, err := ka.Recv(); return err })
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("GracefulStop still waiting after its streams ended")
	}
}

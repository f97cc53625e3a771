package zookeeper

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream"
)

// dialWatchZK is dialZK with the watch settings a test needs.
func dialWatchZK(t *testing.T, set func(*Config)) *Client {
	t.Helper()
	z := harness.SharedZooKeeper(t)
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	cfg := Config{URL: z.URL(fmt.Sprintf("/%s-%d", name, chroots.Add(1))), SessionTimeout: 4 * time.Second}
	if set != nil {
		set(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openWatch opens a stream whose Recv gives up after
// harness.DefaultPatience (a test waiting for an answer that never comes
// fails instead of hanging).
func openWatch(t *testing.T, c *Client) upstream.WatchStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	t.Cleanup(cancel)
	s, err := c.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return s
}

func recv(t *testing.T, s upstream.WatchStream) *pb.WatchResponse {
	t.Helper()
	r, err := s.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return r
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// awaitHistory waits until c's watch window has reached rev.
func awaitHistory(t *testing.T, c *Client, rev int64) {
	t.Helper()
	harness.WaitUntil(t, fmt.Sprintf("the watch history at revision %d", rev), harness.DefaultPatience,
		func() bool { return c.hist.revision() >= rev })
}

package proxy

import (
	"context"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream/etcd"
)

// TestUpstreamHealthWithAndWithoutAuth: a member with a leader is healthy
// by its Status; once auth is on, Status refuses herald's token-less probe
// and the linearizable read's refusal still proves a quorum answered.
func TestUpstreamHealthWithAndWithoutAuth(t *testing.T) {
	emb := embedded.Start(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := cli.ActiveConnection()
	up, err := etcd.Dial(etcd.Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	probe := upstreamHealth(up)

	if err := probe(ctx); err != nil {
		t.Fatalf("auth off: %v", err)
	}
	for _, step := range []func() error{
		func() error { _, err := cli.RoleAdd(ctx, "root"); return err },
		func() error { _, err := cli.UserAdd(ctx, "root", "pw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pb.NewMaintenanceClient(conn).Status(ctx, &pb.StatusRequest{}); err == nil {
		t.Fatal("Status without a token succeeded with auth on: the fallback is not exercised")
	}
	if err := probe(ctx); err != nil {
		t.Fatalf("auth on: %v", err)
	}
}

package proxy_test

import (
	"context"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// grantID grants a lease with a chosen ID (clientv3's Grant cannot).
func grantID(ctx context.Context, c *clientv3.Client, id int64) (*pb.LeaseGrantResponse, error) {
	resp, err := pb.NewLeaseClient(c.ActiveConnection()).LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: id, TTL: 10})
	return resp, rpctypes.Error(err)
}

// putLeased grants a lease of ttl through herald and puts key on it: a
// virtual lease in use, so herald holds a session and a carrier at etcd.
func putLeased(t *testing.T, e *env, key string, ttl int64) clientv3.LeaseID {
	t.Helper()
	ctx := harness.Context(t, harness.DefaultPatience)
	l, err := e.viaHerald.Grant(ctx, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.viaHerald.Put(ctx, key, "v", clientv3.WithLease(l.ID)); err != nil {
		t.Fatal(err)
	}
	return l.ID
}

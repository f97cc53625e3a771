package proxy_test

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// grantID grants a lease with a chosen ID (clientv3's Grant cannot).
func grantID(ctx context.Context, c *clientv3.Client, id int64) (*pb.LeaseGrantResponse, error) {
	resp, err := pb.NewLeaseClient(c.ActiveConnection()).LeaseGrant(ctx, &pb.LeaseGrantRequest{ID: id, TTL: 10})
	return resp, rpctypes.Error(err)
}

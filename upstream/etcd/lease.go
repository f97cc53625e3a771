package etcd

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/upstream"
)

func (c *Client) Grant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	return c.lease.LeaseGrant(ctx, r)
}

func (c *Client) Revoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	return c.lease.LeaseRevoke(ctx, r)
}

func (c *Client) TimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	return c.lease.LeaseTimeToLive(ctx, r)
}

func (c *Client) Leases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	return c.lease.LeaseLeases(ctx, r)
}

// KeepAlive opens one etcd keepalive stream: the leases renewed on it share
// it, as clientv3's keepalives do.
func (c *Client) KeepAlive(ctx context.Context) (upstream.Keeper, error) {
	s, err := c.lease.LeaseKeepAlive(ctx)
	if err != nil {
		return nil, err
	}
	return keeper{s}, nil
}

// keeper is an etcd keepalive stream as an upstream.Keeper.
type keeper struct {
	pb.Lease_LeaseKeepAliveClient
}

func (k keeper) KeepAlive(id int64) error {
	return k.Send(&pb.LeaseKeepAliveRequest{ID: id})
}

package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// leaseServer forwards the Lease service. The lease offloader (lease/)
// answers for virtual leases instead.
type leaseServer struct {
	pb.UnimplementedLeaseServer
	lease pb.LeaseClient
}

func (s *leaseServer) LeaseGrant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	return s.lease.LeaseGrant(outgoing(ctx), r)
}

func (s *leaseServer) LeaseRevoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	return s.lease.LeaseRevoke(outgoing(ctx), r)
}

func (s *leaseServer) LeaseKeepAlive(stream grpc.BidiStreamingServer[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse]) error {
	return relayBidi(stream, func(ctx context.Context) (grpc.BidiStreamingClient[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse], error) {
		return s.lease.LeaseKeepAlive(ctx)
	})
}

func (s *leaseServer) LeaseTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	return retryRead(outgoing(ctx), func(ctx context.Context) (*pb.LeaseTimeToLiveResponse, error) {
		return s.lease.LeaseTimeToLive(ctx, r)
	})
}

func (s *leaseServer) LeaseLeases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	return retryRead(outgoing(ctx), func(ctx context.Context) (*pb.LeaseLeasesResponse, error) {
		return s.lease.LeaseLeases(ctx, r)
	})
}

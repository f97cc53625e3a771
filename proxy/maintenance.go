package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// maintenanceServer forwards the Maintenance service to the upstream member
// herald is connected to, as etcd's grpc-proxy does: `etcdctl endpoint
// status` through herald describes that member.
type maintenanceServer struct {
	pb.UnimplementedMaintenanceServer
	m pb.MaintenanceClient
}

func (s *maintenanceServer) Alarm(ctx context.Context, r *pb.AlarmRequest) (*pb.AlarmResponse, error) {
	return s.m.Alarm(outgoing(ctx), r)
}

func (s *maintenanceServer) Status(ctx context.Context, r *pb.StatusRequest) (*pb.StatusResponse, error) {
	return retryRead(outgoing(ctx), func(ctx context.Context) (*pb.StatusResponse, error) {
		return s.m.Status(ctx, r)
	})
}

func (s *maintenanceServer) Defragment(ctx context.Context, r *pb.DefragmentRequest) (*pb.DefragmentResponse, error) {
	return s.m.Defragment(outgoing(ctx), r)
}

func (s *maintenanceServer) Hash(ctx context.Context, r *pb.HashRequest) (*pb.HashResponse, error) {
	return s.m.Hash(outgoing(ctx), r)
}

func (s *maintenanceServer) HashKV(ctx context.Context, r *pb.HashKVRequest) (*pb.HashKVResponse, error) {
	return s.m.HashKV(outgoing(ctx), r)
}

func (s *maintenanceServer) Snapshot(r *pb.SnapshotRequest, stream grpc.ServerStreamingServer[pb.SnapshotResponse]) error {
	return relayServerStream(stream, func(ctx context.Context) (grpc.ServerStreamingClient[pb.SnapshotResponse], error) {
		return s.m.Snapshot(ctx, r)
	}, nil)
}

func (s *maintenanceServer) MoveLeader(ctx context.Context, r *pb.MoveLeaderRequest) (*pb.MoveLeaderResponse, error) {
	return s.m.MoveLeader(outgoing(ctx), r)
}

func (s *maintenanceServer) Downgrade(ctx context.Context, r *pb.DowngradeRequest) (*pb.DowngradeResponse, error) {
	return s.m.Downgrade(outgoing(ctx), r)
}

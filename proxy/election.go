package proxy

import (
	"context"

	"go.etcd.io/etcd/server/v3/etcdserver/api/v3election/v3electionpb"
	"google.golang.org/grpc"
)

// electionServer forwards etcd's v3election service.
type electionServer struct {
	v3electionpb.UnimplementedElectionServer
	e v3electionpb.ElectionClient
}

func (s *electionServer) Campaign(ctx context.Context, r *v3electionpb.CampaignRequest) (*v3electionpb.CampaignResponse, error) {
	return s.e.Campaign(outgoing(ctx), r)
}

func (s *electionServer) Proclaim(ctx context.Context, r *v3electionpb.ProclaimRequest) (*v3electionpb.ProclaimResponse, error) {
	return s.e.Proclaim(outgoing(ctx), r)
}

func (s *electionServer) Leader(ctx context.Context, r *v3electionpb.LeaderRequest) (*v3electionpb.LeaderResponse, error) {
	return retryRead(outgoing(ctx), func(ctx context.Context) (*v3electionpb.LeaderResponse, error) {
		return s.e.Leader(ctx, r)
	})
}

func (s *electionServer) Observe(r *v3electionpb.LeaderRequest, stream grpc.ServerStreamingServer[v3electionpb.LeaderResponse]) error {
	return relayServerStream(stream, func(ctx context.Context) (grpc.ServerStreamingClient[v3electionpb.LeaderResponse], error) {
		return s.e.Observe(ctx, r)
	})
}

func (s *electionServer) Resign(ctx context.Context, r *v3electionpb.ResignRequest) (*v3electionpb.ResignResponse, error) {
	return s.e.Resign(outgoing(ctx), r)
}

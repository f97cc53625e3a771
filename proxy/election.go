package proxy

import (
	"context"
	"sync/atomic"

	"go.etcd.io/etcd/server/v3/etcdserver/api/v3election/v3electionpb"
	"google.golang.org/grpc"
)

// electionServer serves etcd's v3election service: by etcd's own
// implementation on a loopback client once SetLoopback has installed it
// (needed for virtual leases, which etcd cannot see), by forwarding
// upstream until then.
type electionServer struct {
	v3electionpb.UnimplementedElectionServer
	e     v3electionpb.ElectionClient
	local atomic.Pointer[v3electionpb.ElectionServer]
}

func (s *electionServer) Campaign(ctx context.Context, r *v3electionpb.CampaignRequest) (*v3electionpb.CampaignResponse, error) {
	if l := s.local.Load(); l != nil {
		return (*l).Campaign(outgoing(ctx), r)
	}
	return s.e.Campaign(outgoing(ctx), r)
}

func (s *electionServer) Proclaim(ctx context.Context, r *v3electionpb.ProclaimRequest) (*v3electionpb.ProclaimResponse, error) {
	if l := s.local.Load(); l != nil {
		return (*l).Proclaim(outgoing(ctx), r)
	}
	return s.e.Proclaim(outgoing(ctx), r)
}

func (s *electionServer) Leader(ctx context.Context, r *v3electionpb.LeaderRequest) (*v3electionpb.LeaderResponse, error) {
	if l := s.local.Load(); l != nil {
		return (*l).Leader(outgoing(ctx), r)
	}
	return retryRead(outgoing(ctx), func(ctx context.Context) (*v3electionpb.LeaderResponse, error) {
		return s.e.Leader(ctx, r)
	})
}

func (s *electionServer) Observe(r *v3electionpb.LeaderRequest, stream grpc.ServerStreamingServer[v3electionpb.LeaderResponse]) error {
	if l := s.local.Load(); l != nil {
		return (*l).Observe(r, &outgoingStream[v3electionpb.LeaderResponse]{stream})
	}
	return relayServerStream(stream, func(ctx context.Context) (grpc.ServerStreamingClient[v3electionpb.LeaderResponse], error) {
		return s.e.Observe(ctx, r)
	}, nil)
}

func (s *electionServer) Resign(ctx context.Context, r *v3electionpb.ResignRequest) (*v3electionpb.ResignResponse, error) {
	if l := s.local.Load(); l != nil {
		return (*l).Resign(outgoing(ctx), r)
	}
	return s.e.Resign(outgoing(ctx), r)
}

// outgoingStream hands a loopback implementation a stream whose context
// carries the client's metadata as outgoing metadata.
type outgoingStream[Resp any] struct {
	grpc.ServerStreamingServer[Resp]
}

func (s *outgoingStream[Resp]) Context() context.Context {
	return outgoing(s.ServerStreamingServer.Context())
}

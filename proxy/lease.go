package proxy

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/upstream"
)

// leaseServer serves the Lease service. With offloading on (o != nil),
// clients get virtual leases (those with an auth token only when herald
// has an etcd user of its own): Grant creates one owned by this herald;
// calls about any virtual lease are answered by its owner, here or at the
// peer the call is forwarded to (with the client's token), after etcd has
// judged the client's rights (offload.Permit); calls about other leases go
// upstream unchanged, with the client's metadata.
type leaseServer struct {
	pb.UnimplementedLeaseServer
	lease upstream.Leases
	o     *offloader
}

// virtual reports whether herald answers this client's lease requests.
func (s *leaseServer) virtual(ctx context.Context) bool {
	return s.o != nil && s.o.serves(ctx)
}

func (s *leaseServer) LeaseGrant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	if err := s.o.unready(ctx); err != nil {
		return nil, err
	}
	if s.virtual(ctx) {
		if err := s.o.PermitFor(ctx).Authenticated(); err != nil {
			return nil, err
		}
		return s.o.Grant(asHerald(ctx), r)
	}
	return s.lease.Grant(outgoing(ctx), r)
}

func (s *leaseServer) LeaseRevoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	if err := s.o.unready(ctx); err != nil {
		return nil, err
	}
	if !s.virtual(ctx) {
		return s.lease.Revoke(outgoing(ctx), r)
	}
	return routed(ctx, s.o, r.ID, routedCall[*pb.LeaseRevokeResponse]{
		local: func() (*pb.LeaseRevokeResponse, offload.Verdict, error) {
			return s.o.Revoke(asHerald(ctx), r.ID, s.o.PermitFor(ctx))
		},
		peer: func(c *grpc.ClientConn) (*pb.LeaseRevokeResponse, error) {
			return pb.NewLeaseClient(c).LeaseRevoke(s.o.peers.forwardCtx(ctx), r)
		},
		upstream: func() (*pb.LeaseRevokeResponse, error) { return s.lease.Revoke(outgoing(ctx), r) },
		gone:     func() (*pb.LeaseRevokeResponse, error) { return nil, rpctypes.ErrGRPCLeaseNotFound },
	})
}

func (s *leaseServer) LeaseTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	if err := s.o.unready(ctx); err != nil {
		return nil, err
	}
	upstream := func() (*pb.LeaseTimeToLiveResponse, error) {
		return retryRead(outgoing(ctx), func(ctx context.Context) (*pb.LeaseTimeToLiveResponse, error) {
			return s.lease.TimeToLive(ctx, r)
		})
	}
	if !s.virtual(ctx) {
		return upstream()
	}
	return routed(ctx, s.o, r.ID, routedCall[*pb.LeaseTimeToLiveResponse]{
		local: func() (*pb.LeaseTimeToLiveResponse, offload.Verdict, error) {
			return s.o.TimeToLive(asHerald(ctx), r, s.o.PermitFor(ctx))
		},
		peer: func(c *grpc.ClientConn) (*pb.LeaseTimeToLiveResponse, error) {
			return pb.NewLeaseClient(c).LeaseTimeToLive(s.o.peers.forwardCtx(ctx), r)
		},
		upstream: upstream,
		// etcd answers a lease it does not know with TTL -1, not an error.
		gone: upstream,
	})
}

func (s *leaseServer) LeaseLeases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	if err := s.o.unready(ctx); err != nil {
		return nil, err
	}
	resp, err := retryRead(outgoing(ctx), func(ctx context.Context) (*pb.LeaseLeasesResponse, error) {
		return s.lease.Leases(ctx, r)
	})
	if err != nil || s.o == nil {
		return resp, err
	}
	if !s.virtual(ctx) {
		// etcd lists herald's carriers and sessions; they are not the
		// client's.
		return s.o.HideInternal(resp), nil
	}
	// etcd has checked the client (with auth on: read permission on every
	// key of every lease, herald's carriers included, unless it is an
	// admin); the virtual leases are read as herald.
	return s.o.MergeLeases(asHerald(ctx), resp)
}

// routedCall is one lease call, as each route answers it.
type routedCall[Resp any] struct {
	local    func() (Resp, offload.Verdict, error)
	peer     func(*grpc.ClientConn) (Resp, error)
	upstream func() (Resp, error)
	gone     func() (Resp, error)
}

// holdPoll bounds how long a held call waits between two routings when
// nothing changes.
const holdPoll = 250 * time.Millisecond

// routed answers a call about lease id where it belongs: here if this
// herald holds the lease, at the owner's herald if another one does (a
// forwarded call is never forwarded again: the forwarder routes it anew),
// upstream if it is not a virtual lease. While the owner is being replaced
// the call waits, up to the offloader's hold timeout.
func routed[Resp any](ctx context.Context, o *offloader, id int64, call routedCall[Resp]) (Resp, error) {
	var zero Resp
	clk := o.Clock()
	deadline := clk.Now().Add(o.HoldTimeout())
	waiting := false
	defer func() {
		if waiting {
			o.waiting.Add(-1)
		}
	}()
	for {
		changed := o.Changed()
		resp, v, err := call.local()
		if v == offload.Answered {
			return resp, err
		}
		if v == offload.NotHeld {
			route, err := o.Route(asHerald(ctx), id)
			if err != nil {
				return zero, err
			}
			switch route.Kind {
			case offload.RouteLocal:
				continue // held since the first look
			case offload.RouteUpstream:
				return call.upstream()
			case offload.RouteGone:
				return call.gone()
			case offload.RouteForward:
				if forwarded(ctx) {
					return zero, errMoved
				}
				c, err := o.peers.conn(route.URL)
				if err != nil {
					return zero, err
				}
				resp, err := call.peer(c)
				if status.Code(err) != codes.Unavailable {
					return resp, err
				}
				// The owner moved or is going away: route again.
			}
		}
		if !clk.Now().Before(deadline) {
			return zero, rpctypes.ErrGRPCTimeoutDueToConnectionLost
		}
		if !waiting {
			waiting = true
			o.waiting.Add(1)
		}
		poll, stop := clk.NewTimer(holdPoll)
		select {
		case <-ctx.Done():
			stop()
			return zero, status.FromContextError(ctx.Err()).Err()
		case <-changed:
		case <-poll:
		}
		stop()
	}
}

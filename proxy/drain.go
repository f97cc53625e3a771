package proxy

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A herald that stops ends its endless streams — watches, keepalives,
// election observers — with Unavailable, as an etcd member that stops
// does: their clients reopen them on another endpoint at once (clientv3
// resumes a watch from the revision after its last event, and a virtual
// lease is kept alive through any herald of the fleet). Streams that end
// by themselves (Snapshot, RangeStream) and unary calls are left to
// finish, up to GracefulStop's timeout.

// errDraining is what an endless stream ends with when herald stops.
var errDraining = status.Error(codes.Unavailable, "herald: shutting down; reconnect to another endpoint")

// endless are the streams that last until their client ends them.
var endless = map[string]bool{
	"/etcdserverpb.Watch/Watch":          true,
	"/etcdserverpb.Lease/LeaseKeepAlive": true,
	"/v3electionpb.Election/Observe":     true,
}

// drain ends the endless streams when its context is cancelled.
type drain struct {
	ctx   context.Context
	start context.CancelFunc
}

func newDrain() *drain {
	ctx, cancel := context.WithCancel(context.Background())
	return &drain{ctx: ctx, start: cancel}
}

// interceptor runs an endless stream on a context that drain cancels, and
// reports the stream's end as errDraining once draining began.
func (d *drain) interceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !endless[info.FullMethod] {
		return handler(srv, ss)
	}
	if d.ctx.Err() != nil {
		return errDraining
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	stop := context.AfterFunc(d.ctx, cancel)
	defer stop()
	err := handler(srv, drainingStream{ServerStream: ss, ctx: ctx})
	if d.ctx.Err() != nil && ss.Context().Err() == nil {
		return errDraining
	}
	return err
}

// drainingStream is a server stream whose context drain can cancel.
type drainingStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s drainingStream) Context() context.Context { return s.ctx }

package proxy

import (
	"context"
	"errors"
	"io"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"

	"github.com/heraldproj/herald/lease"
)

// leaseServer serves the Lease service. With offloading on (o != nil), a
// client without an auth token gets virtual leases that live in herald;
// requests about any other lease, and every request that carries an auth
// token, go upstream unchanged.
type leaseServer struct {
	pb.UnimplementedLeaseServer
	lease pb.LeaseClient
	o     *offloader
}

// virtual reports whether herald answers this client's lease requests.
func (s *leaseServer) virtual(ctx context.Context) bool {
	return s.o != nil && s.o.serves(ctx)
}

func (s *leaseServer) LeaseGrant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	if s.virtual(ctx) {
		return s.o.grant(ctx, r)
	}
	return s.lease.LeaseGrant(outgoing(ctx), r)
}

func (s *leaseServer) LeaseRevoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	if s.virtual(ctx) && s.o.owns(r.ID) {
		return s.o.revoke(ctx, lease.ID(r.ID))
	}
	return s.lease.LeaseRevoke(outgoing(ctx), r)
}

func (s *leaseServer) LeaseTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	if s.virtual(ctx) {
		if resp, ok := s.o.timeToLive(r); ok {
			return resp, nil
		}
	}
	return retryRead(outgoing(ctx), func(ctx context.Context) (*pb.LeaseTimeToLiveResponse, error) {
		return s.lease.LeaseTimeToLive(ctx, r)
	})
}

func (s *leaseServer) LeaseLeases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	if s.virtual(ctx) {
		return s.o.leases(ctx, r)
	}
	return retryRead(outgoing(ctx), func(ctx context.Context) (*pb.LeaseLeasesResponse, error) {
		return s.lease.LeaseLeases(ctx, r)
	})
}

func (s *leaseServer) LeaseKeepAlive(stream grpc.BidiStreamingServer[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse]) error {
	open := func(ctx context.Context) (grpc.BidiStreamingClient[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse], error) {
		return s.lease.LeaseKeepAlive(ctx)
	}
	if !s.virtual(stream.Context()) {
		return relayBidi(stream, open, nil)
	}
	return s.o.serveKeepAlives(stream, open)
}

// serveKeepAlives answers keepalives for this herald's virtual leases
// itself and relays the others over an upstream stream opened on the first
// one that needs it. Answers from both sides share the client stream.
func (o *offloader) serveKeepAlives(
	stream grpc.BidiStreamingServer[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse],
	open func(context.Context) (grpc.BidiStreamingClient[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse], error),
) error {
	ctx, cancel := context.WithCancel(outgoing(stream.Context()))
	defer cancel()
	var sendMu sync.Mutex
	send := func(resp *pb.LeaseKeepAliveResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(resp)
	}

	// Client requests arrive on their own goroutine, so that an upstream
	// failure ends the stream without waiting for the client's next request.
	// The intake tracks how far herald has read them (see intake).
	tracked := o.intake.track()
	defer tracked.done()
	reqs, recvErr := receive(ctx, recvTracked(tracked, stream.Recv))

	var up grpc.BidiStreamingClient[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse]
	upErr := make(chan error, 1)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-upErr:
			return err
		case err := <-recvErr:
			if !errors.Is(err, io.EOF) || up == nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			// Half-close: pass it on and let the upstream finish.
			_ = up.CloseSend()
			return <-upErr
		case req := <-reqs:
			if resp, ok := o.keepAlive(req.ID); ok {
				if err := send(resp); err != nil {
					return err
				}
				continue
			}
			if up == nil {
				var err error
				if up, err = open(ctx); err != nil {
					return err
				}
				go func() { upErr <- pump(up.Recv, send) }()
			}
			if err := up.Send(req); err != nil {
				return <-upErr
			}
		}
	}
}

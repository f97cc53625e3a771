package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/upstream"
)

// upstreamBidi is the upstream side of a relayed bidirectional stream
// (relayBidi): a gRPC client stream, or one of the seam's streams adapted
// below.
type upstreamBidi[Req, Resp any] interface {
	Send(*Req) error
	Recv() (*Resp, error)
	CloseSend() error
}

// openWatchRelay opens an upstream watch stream for relayBidi.
func openWatchRelay(w upstream.Watches) func(context.Context) (upstreamBidi[pb.WatchRequest, pb.WatchResponse], error) {
	return func(ctx context.Context) (upstreamBidi[pb.WatchRequest, pb.WatchResponse], error) {
		s, err := w.Watch(ctx)
		if err != nil {
			return nil, err
		}
		return watchRelay{s}, nil
	}
}

// openKeepAliveRelay opens an upstream keepalive stream for relayBidi.
func openKeepAliveRelay(l upstream.Leases) func(context.Context) (upstreamBidi[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse], error) {
	return func(ctx context.Context) (upstreamBidi[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse], error) {
		k, err := l.KeepAlive(ctx)
		if err != nil {
			return nil, err
		}
		return keepAliveRelay{k}, nil
	}
}

// watchRelay passes a client's watch requests to an upstream watch stream,
// one call each. A request of no known kind, or with an empty union, is
// dropped, as etcd drops it.
type watchRelay struct{ upstream.WatchStream }

func (w watchRelay) Send(r *pb.WatchRequest) error {
	switch u := r.RequestUnion.(type) {
	case *pb.WatchRequest_CreateRequest:
		if u.CreateRequest != nil {
			return w.Create(u.CreateRequest)
		}
	case *pb.WatchRequest_CancelRequest:
		if u.CancelRequest != nil {
			return w.Cancel(u.CancelRequest.WatchId)
		}
	case *pb.WatchRequest_ProgressRequest:
		return w.RequestProgress()
	}
	return nil
}

// keepAliveRelay passes a client's keepalives to an upstream Keeper.
type keepAliveRelay struct{ upstream.Keeper }

func (k keepAliveRelay) Send(r *pb.LeaseKeepAliveRequest) error { return k.KeepAlive(r.ID) }

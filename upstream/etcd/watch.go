package etcd

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/upstream"
)

// Watch opens one etcd watch stream. Every watch created on it shares it,
// so a client stream relayed by the proxy costs etcd one stream, however
// many watches it holds; etcd assigns the IDs, answers the progress
// requests and cancels, exactly as for a direct client.
func (c *Client) Watch(ctx context.Context) (upstream.WatchStream, error) {
	s, err := c.watch.Watch(ctx)
	if err != nil {
		return nil, err
	}
	return watchStream{s}, nil
}

// watchStream is an etcd watch stream as an upstream.WatchStream: each
// call is one WatchRequest.
type watchStream struct {
	pb.Watch_WatchClient
}

func (w watchStream) Create(r *pb.WatchCreateRequest) error {
	return w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: r}})
}

func (w watchStream) Cancel(id int64) error {
	return w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: id}}})
}

func (w watchStream) RequestProgress() error {
	return w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}})
}

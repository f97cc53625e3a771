package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// watchServer relays each client watch stream to an upstream stream of its
// own. The fleet fan-out (fanout/) serves watches on its prefixes instead.
type watchServer struct {
	pb.UnimplementedWatchServer
	watch pb.WatchClient
}

func (s *watchServer) Watch(stream grpc.BidiStreamingServer[pb.WatchRequest, pb.WatchResponse]) error {
	return relayBidi(stream, func(ctx context.Context) (grpc.BidiStreamingClient[pb.WatchRequest, pb.WatchResponse], error) {
		return s.watch.Watch(ctx)
	})
}

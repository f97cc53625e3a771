package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// kvServer forwards the KV service.
type kvServer struct {
	pb.UnimplementedKVServer
	kv pb.KVClient
}

func (s *kvServer) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	return retryRead(outgoing(ctx), func(ctx context.Context) (*pb.RangeResponse, error) {
		return s.kv.Range(ctx, r)
	})
}

func (s *kvServer) RangeStream(r *pb.RangeRequest, stream grpc.ServerStreamingServer[pb.RangeStreamResponse]) error {
	return relayServerStream(stream, func(ctx context.Context) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
		return s.kv.RangeStream(ctx, r)
	})
}

func (s *kvServer) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	return s.kv.Put(outgoing(ctx), r)
}

func (s *kvServer) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	return s.kv.DeleteRange(outgoing(ctx), r)
}

func (s *kvServer) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	return s.kv.Txn(outgoing(ctx), r)
}

func (s *kvServer) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	return s.kv.Compact(outgoing(ctx), r)
}

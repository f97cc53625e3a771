package proxy

import (
	"context"
	"errors"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/lease"
)

// rangeStreamAround serves a RangeStream whose span covers the reserved
// keyspace as etcd would stream the range without herald's keys: the parts
// around the reserved keyspace, one after the other, at the revision of the
// first, as chunks of keys; then a last chunk with the first part's header
// (etcd's store revision when the stream began, whatever revision is read),
// More and the whole range's Count, as etcd's last chunk has them (clientv3
// merges the chunks). Sort orders and revision filters, which etcd's RangeStream
// refuses, go to etcd for its error.
func (o *offloader) rangeStreamAround(
	client grpc.ServerStreamingServer[pb.RangeStreamResponse],
	r *pb.RangeRequest,
	open func(context.Context, *pb.RangeRequest) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error),
	read func(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error),
) error {
	if !lease.StreamableRange(r) {
		return relayServerStream(client, func(ctx context.Context) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
			return open(ctx, r)
		}, nil)
	}
	ctx, cancel := context.WithCancel(outgoing(client.Context()))
	defer cancel()
	parts := o.ks.Around(lease.Span{Key: r.Key, End: r.RangeEnd})
	if r.CountOnly || len(parts) == 0 {
		// No keys to stream: one chunk with the header and the count (0
		// when only reserved keys are in range), as etcd's.
		resp, err := o.rangeAround(ctx, r, read)
		if err != nil {
			return err
		}
		return client.Send(&pb.RangeStreamResponse{RangeResponse: &pb.RangeResponse{Header: resp.Header, Count: resp.Count}})
	}

	var (
		header *pb.ResponseHeader
		sent   int64 // keys sent
		count  int64 // keys in the parts streamed so far
		more   bool
		rev    = r.Revision
		i      int
	)
	for ; i < len(parts) && (r.Limit == 0 || sent < r.Limit); i++ {
		q := proto.Clone(r).(*pb.RangeRequest)
		q.Key, q.RangeEnd, q.Revision = parts[i].Key, parts[i].End, rev
		if r.Limit > 0 {
			q.Limit = r.Limit - sent
		}
		last, n, err := o.relayPart(ctx, client, q, open)
		if err != nil {
			return err
		}
		sent += n
		count, more = count+last.Count, last.More
		if header == nil {
			header = last.Header
		}
		if rev == 0 {
			rev = header.GetRevision()
		}
	}
	// The limit was reached before the last part: count what is left.
	for ; i < len(parts); i++ {
		q := &pb.RangeRequest{Key: parts[i].Key, RangeEnd: parts[i].End, Revision: rev, Serializable: r.Serializable, CountOnly: true}
		resp, err := read(ctx, q)
		if err != nil {
			return err
		}
		count += resp.Count
		more = more || resp.Count > 0
	}
	return client.Send(&pb.RangeStreamResponse{RangeResponse: &pb.RangeResponse{Header: header, Count: count, More: more}})
}

// relayPart streams one part of the range to the client, its keys
// translated, and returns etcd's last chunk (header, More, Count of the
// part) and how many keys it sent.
func (o *offloader) relayPart(
	ctx context.Context,
	client grpc.ServerStreamingServer[pb.RangeStreamResponse],
	q *pb.RangeRequest,
	open func(context.Context, *pb.RangeRequest) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error),
) (last *pb.RangeResponse, sent int64, err error) {
	up, err := open(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	for {
		chunk, err := up.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, sent, err
		}
		resp := chunk.GetRangeResponse()
		if resp == nil {
			continue
		}
		if resp.Header != nil {
			last = resp
		}
		if len(resp.Kvs) == 0 {
			continue
		}
		o.Translate(client.Context(), resp.Kvs...)
		sent += int64(len(resp.Kvs))
		if err := client.Send(&pb.RangeStreamResponse{RangeResponse: &pb.RangeResponse{Kvs: resp.Kvs}}); err != nil {
			return nil, sent, err
		}
	}
	if last == nil {
		return nil, sent, status.Error(codes.Internal, "proxy: etcd ended a RangeStream without its last chunk")
	}
	return last, sent, nil
}

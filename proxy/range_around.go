package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/lease"
)

// rangeAround serves a Range whose span covers the reserved keyspace by
// reading the parts around it at one revision and merging them as etcd
// would have answered the whole range without herald's keys: the same
// order, limit, count and more (lease.MergeRanges).
func (o *offloader) rangeAround(ctx context.Context, r *pb.RangeRequest, read func(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error)) (*pb.RangeResponse, error) {
	parts := o.ks.Around(lease.Span{Key: r.Key, End: r.RangeEnd})
	if len(parts) == 0 {
		// Only reserved keys in range: answer an empty range, with etcd's
		// header and its errors (a compacted revision, say).
		q := proto.Clone(r).(*pb.RangeRequest)
		q.CountOnly = true
		resp, err := read(ctx, q)
		if err != nil {
			return nil, err
		}
		return &pb.RangeResponse{Header: resp.Header}, nil
	}
	var got []*pb.RangeResponse
	rev := r.Revision
	for _, part := range parts {
		q := lease.PartRequest(r, part)
		q.Revision = rev
		resp, err := read(ctx, q)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		got = append(got, resp)
	}
	return lease.MergeRanges(r, got), nil
}

package proxy

import (
	"bytes"
	"cmp"
	"context"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// rangeAround serves a Range whose span covers the reserved prefix by
// reading the parts around it at one revision and merging them as etcd
// would have answered the whole range without herald's keys: the same
// order, limit, count and more.
func (o *offloader) rangeAround(ctx context.Context, r *pb.RangeRequest, read func(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error)) (*pb.RangeResponse, error) {
	parts := o.res.around(span{r.Key, r.RangeEnd})
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
		q := proto.Clone(r).(*pb.RangeRequest)
		q.Key, q.RangeEnd, q.Revision = part.key, part.end, rev
		resp, err := read(ctx, q)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		got = append(got, resp)
	}
	return mergeRanges(r, got), nil
}

// mergeRanges merges the answers for the parts of r (in key order) into
// the answer to r.
func mergeRanges(r *pb.RangeRequest, parts []*pb.RangeResponse) *pb.RangeResponse {
	out := &pb.RangeResponse{Header: parts[0].GetHeader()}
	for _, p := range parts {
		out.Count += p.GetCount()
		out.More = out.More || p.GetMore()
		out.Kvs = append(out.Kvs, p.GetKvs()...)
	}
	// Parts are in key order, so ascending key order needs no sort.
	if r.SortOrder != pb.RangeRequest_NONE && (r.SortTarget != pb.RangeRequest_KEY || r.SortOrder == pb.RangeRequest_DESCEND) {
		slices.SortStableFunc(out.Kvs, kvOrder(r.SortTarget, r.SortOrder))
	}
	if r.Limit > 0 && int64(len(out.Kvs)) > r.Limit {
		out.Kvs = out.Kvs[:r.Limit]
		out.More = true
	}
	return out
}

func kvOrder(target pb.RangeRequest_SortTarget, order pb.RangeRequest_SortOrder) func(a, b *mvccpb.KeyValue) int {
	by := func(a, b *mvccpb.KeyValue) int {
		switch target {
		case pb.RangeRequest_VERSION:
			return cmp.Compare(a.Version, b.Version)
		case pb.RangeRequest_CREATE:
			return cmp.Compare(a.CreateRevision, b.CreateRevision)
		case pb.RangeRequest_MOD:
			return cmp.Compare(a.ModRevision, b.ModRevision)
		case pb.RangeRequest_VALUE:
			return bytes.Compare(a.Value, b.Value)
		}
		return bytes.Compare(a.Key, b.Key)
	}
	if order == pb.RangeRequest_DESCEND {
		return func(a, b *mvccpb.KeyValue) int { return by(b, a) }
	}
	return by
}

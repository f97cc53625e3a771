package lease

import (
	"bytes"
	"cmp"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// MergeRanges merges the answers for the parts of r around the reserved
// keyspace (in key order, read at one revision) into the answer etcd would
// have given to r without herald's keys: the same order, limit, count and
// more.
func MergeRanges(r *pb.RangeRequest, parts []*pb.RangeResponse) *pb.RangeResponse {
	out := &pb.RangeResponse{}
	if len(parts) > 0 {
		out.Header = parts[0].GetHeader()
	}
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

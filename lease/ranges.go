package lease

import (
	"bytes"
	"cmp"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// MergeRanges merges the answers for the parts of r around the reserved
// keyspace (in key order, read at one revision) into the answer etcd would
// have given to r without herald's keys: the same order, limit, count and
// more. It follows etcd's executeRange exactly: with the default ordering
// (no order, or ascending keys) and no revision filter, etcd reads the
// first limit+1 keys in key order, sorts them (a target other than the key
// with no order sorts ascending) and cuts at the limit; otherwise it reads
// everything, sorts, then cuts.
func MergeRanges(r *pb.RangeRequest, parts []*pb.RangeResponse) *pb.RangeResponse {
	out := &pb.RangeResponse{}
	if len(parts) > 0 {
		out.Header = parts[0].GetHeader()
	}
	for _, p := range parts {
		out.Count += p.GetCount()
		out.More = out.More || p.GetMore()
		kvs := p.GetKvs()
		if r.SortTarget != pb.RangeRequest_KEY || r.SortOrder == pb.RangeRequest_DESCEND {
			// Back to key order (each part's keys are distinct).
			kvs = slices.Clone(kvs)
			slices.SortFunc(kvs, kvOrder(pb.RangeRequest_KEY, pb.RangeRequest_ASCEND))
		}
		out.Kvs = append(out.Kvs, kvs...)
	}
	order := r.SortOrder
	if r.SortTarget != pb.RangeRequest_KEY && order == pb.RangeRequest_NONE {
		order = pb.RangeRequest_ASCEND
	}
	keyOrder := r.SortTarget == pb.RangeRequest_KEY && order != pb.RangeRequest_DESCEND
	limit := func() {
		if r.Limit > 0 && int64(len(out.Kvs)) > r.Limit {
			out.Kvs = out.Kvs[:r.Limit]
			out.More = true
		}
	}
	sortAll := func() {
		if !keyOrder {
			slices.SortStableFunc(out.Kvs, kvOrder(r.SortTarget, order))
		}
	}
	if defaultOrdering(r) && !revisionFilters(r) && r.Limit > 0 && int64(len(out.Kvs)) > r.Limit+1 {
		out.Kvs = out.Kvs[:r.Limit+1]
	}
	sortAll()
	limit()
	if r.KeysOnly && r.SortTarget == pb.RangeRequest_VALUE {
		// The parts were read with their values to sort by them (PartRequest);
		// etcd strips them after sorting.
		for i, kv := range out.Kvs {
			c := proto.Clone(kv).(*mvccpb.KeyValue)
			c.Value = nil
			out.Kvs[i] = c
		}
	}
	return out
}

// PartRequest is the read of one part of r (a span around the reserved
// keyspace), to be merged by MergeRanges. With the default ordering and a
// limit, etcd sorts only the first limit+1 keys in key order: each part is
// read in key order, limit+1 keys, and MergeRanges sorts the merged first
// ones. A keys-only read sorted by value needs the values to sort by, as
// etcd sorts before it strips them.
func PartRequest(r *pb.RangeRequest, part Span) *pb.RangeRequest {
	q := proto.Clone(r).(*pb.RangeRequest)
	q.Key, q.RangeEnd = part.Key, part.End
	if defaultOrdering(r) && !revisionFilters(r) && r.Limit > 0 {
		q.SortTarget, q.SortOrder, q.Limit = pb.RangeRequest_KEY, pb.RangeRequest_NONE, r.Limit+1
	}
	if q.KeysOnly && r.SortTarget == pb.RangeRequest_VALUE {
		q.KeysOnly = false
	}
	return q
}

// StreamableRange reports whether etcd's RangeStream accepts r's options:
// keys in ascending order, no revision filters.
func StreamableRange(r *pb.RangeRequest) bool { return defaultOrdering(r) && !revisionFilters(r) }

// defaultOrdering is etcd's IsDefaultOrdering: no order, or ascending keys.
func defaultOrdering(r *pb.RangeRequest) bool {
	return r.SortOrder == pb.RangeRequest_NONE ||
		(r.SortTarget == pb.RangeRequest_KEY && r.SortOrder == pb.RangeRequest_ASCEND)
}

// revisionFilters is etcd's HasRevisionFilters.
func revisionFilters(r *pb.RangeRequest) bool {
	return r.MinModRevision != 0 || r.MaxModRevision != 0 || r.MinCreateRevision != 0 || r.MaxCreateRevision != 0
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

package zookeeper

import (
	"bytes"
	"context"
	"sort"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/internal/backoff"
)

// Range reads at the current revision. Linearizable ranges sync the
// session's server first; serializable ones read what it has. The result
// is one revision's state: the reads are checked against the revision
// read first (reader.consistentAt) and done again if a write to the range
// came between (with a short backoff, until ctx ends).
func (c *Client) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	if err := checkRange(r); err != nil {
		return nil, err
	}
	b := backoff.New(time.Millisecond, 50*time.Millisecond)
	for {
		if err := ctx.Err(); err != nil {
			return nil, grpcError(ctx, "range", err)
		}
		rev, err := c.currentRevision(r.Serializable)
		if err != nil {
			return nil, grpcError(ctx, "range", err)
		}
		if err := checkRevision(r.Revision, rev); err != nil {
			return nil, err
		}
		rd := newReader(c, false)
		kvs, err := rd.rangeKVs(r.Key, r.RangeEnd)
		if err != nil {
			return nil, grpcError(ctx, "range", err)
		}
		if rd.consistentAt(rev) {
			return assembleRange(r, kvs, rev), nil
		}
		if !b.Wait(ctx) {
			return nil, grpcError(ctx, "range", ctx.Err())
		}
	}
}

// rangeKVs reads the present keys of a request's key and range_end, in key
// order.
func (r *reader) rangeKVs(key, end []byte) ([]*mvccpb.KeyValue, error) {
	var leaves []*leaf
	if len(end) == 0 {
		l, err := r.get(key)
		if err != nil {
			return nil, err
		}
		if l.present {
			leaves = append(leaves, l)
		}
	} else {
		var err error
		if leaves, err = r.span(key, end); err != nil {
			return nil, err
		}
	}
	kvs := make([]*mvccpb.KeyValue, len(leaves))
	for i, l := range leaves {
		kvs[i] = l.kv()
	}
	return kvs, nil
}

// checkRange refuses what etcd's gRPC layer refuses before a range runs.
func checkRange(r *pb.RangeRequest) error {
	if len(r.Key) == 0 {
		return rpctypes.ErrGRPCEmptyKey
	}
	if _, ok := pb.RangeRequest_SortOrder_name[int32(r.SortOrder)]; !ok {
		return rpctypes.ErrGRPCInvalidSortOption
	}
	if _, ok := pb.RangeRequest_SortTarget_name[int32(r.SortTarget)]; !ok {
		return rpctypes.ErrGRPCInvalidSortOption
	}
	return nil
}

// checkRevision answers a read at a given revision. ZooKeeper keeps no
// history, so the store behaves as if always compacted at its current
// revision: an older one is etcd's compacted error, a newer one its
// future-revision error, the current one (or 0) is read.
func checkRevision(want, current int64) error {
	switch {
	case want == 0 || want == current:
		return nil
	case want > current:
		return rpctypes.ErrGRPCFutureRev
	}
	// etcd's own error, word for word: clients match it by its message.
	return rpctypes.ErrGRPCCompacted
}

// assembleRange applies a range request's filters, sort, limit, keys_only
// and count_only to kvs, every present key of its range in key order, the
// way etcd's server does: count is taken before the revision filters, the
// sort is etcd's (not stable), more says the limit cut something off.
func assembleRange(r *pb.RangeRequest, kvs []*mvccpb.KeyValue, rev int64) *pb.RangeResponse {
	resp := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: rev}, Count: int64(len(kvs))}
	if r.CountOnly {
		return resp
	}
	kvs = filterKVs(r, kvs)
	sortKVs(r, kvs)
	if r.Limit > 0 && int64(len(kvs)) > r.Limit {
		kvs, resp.More = kvs[:r.Limit], true
	}
	for _, kv := range kvs {
		if r.KeysOnly {
			kv.Value = nil
		}
	}
	resp.Kvs = kvs
	return resp
}

func filterKVs(r *pb.RangeRequest, kvs []*mvccpb.KeyValue) []*mvccpb.KeyValue {
	keep := func(kv *mvccpb.KeyValue) bool {
		return (r.MaxModRevision == 0 || kv.ModRevision <= r.MaxModRevision) &&
			(r.MinModRevision == 0 || kv.ModRevision >= r.MinModRevision) &&
			(r.MaxCreateRevision == 0 || kv.CreateRevision <= r.MaxCreateRevision) &&
			(r.MinCreateRevision == 0 || kv.CreateRevision >= r.MinCreateRevision)
	}
	out := kvs[:0]
	for _, kv := range kvs {
		if keep(kv) {
			out = append(out, kv)
		}
	}
	return out
}

// sortKVs orders kvs (in key order on entry) as etcd does: a target other
// than KEY with no order means ascending; KEY ascending is already done.
func sortKVs(r *pb.RangeRequest, kvs []*mvccpb.KeyValue) {
	order := r.SortOrder
	if r.SortTarget != pb.RangeRequest_KEY && order == pb.RangeRequest_NONE {
		order = pb.RangeRequest_ASCEND
	}
	if order == pb.RangeRequest_NONE || (r.SortTarget == pb.RangeRequest_KEY && order == pb.RangeRequest_ASCEND) {
		return
	}
	var s sort.Interface = kvOrder{kvs, r.SortTarget}
	if order == pb.RangeRequest_DESCEND {
		s = sort.Reverse(s)
	}
	// sort.Sort, as etcd: ties end up where etcd puts them.
	sort.Sort(s)
}

type kvOrder struct {
	kvs    []*mvccpb.KeyValue
	target pb.RangeRequest_SortTarget
}

func (o kvOrder) Len() int      { return len(o.kvs) }
func (o kvOrder) Swap(i, j int) { o.kvs[i], o.kvs[j] = o.kvs[j], o.kvs[i] }
func (o kvOrder) Less(i, j int) bool {
	a, b := o.kvs[i], o.kvs[j]
	switch o.target {
	case pb.RangeRequest_VERSION:
		return a.Version < b.Version
	case pb.RangeRequest_CREATE:
		return a.CreateRevision < b.CreateRevision
	case pb.RangeRequest_MOD:
		return a.ModRevision < b.ModRevision
	case pb.RangeRequest_VALUE:
		return bytes.Compare(a.Value, b.Value) < 0
	}
	return bytes.Compare(a.Key, b.Key) < 0
}

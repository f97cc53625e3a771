package fanout

import (
	"bytes"
	"sort"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Range answers a RangeRequest inside a fan-out prefix as etcd's
// txn.executeRange would (server/etcdserver/txn/range.go, mvcc rangeKeys):
// limit, sort order and target, keys_only, count_only, the min/max mod and
// create revision filters, and revision (a past revision only if the window
// reaches back to it). The header revision is the cache revision, as etcd
// answers with its current revision even for a past one. It returns false
// when the cache cannot answer — not loaded, a gap open, outside the
// prefixes, or a revision it does not hold (including future and compacted
// ones, whose errors etcd gives) — and the proxy forwards the request.
// Serializable or not is the caller's concern.
func (c *Cache) Range(r *pb.RangeRequest) (*pb.RangeResponse, bool) {
	if !c.Loaded() || len(r.Key) == 0 || c.Gap() != nil {
		return nil, false
	}
	sp := requestSpan(r.Key, r.RangeEnd)
	from, ok := c.rangeFrom(sp)
	if !ok {
		return nil, false
	}
	var kvs []*mvccpb.KeyValue
	switch rev := r.Revision; {
	case rev <= 0 || rev == c.rev:
		if !sp.empty() {
			kvs = append(kvs, c.kv.in(sp)...)
		}
	case rev > c.rev || rev < c.compactRev || rev < c.window.start-1 || rev < from:
		return nil, false
	default:
		var ok bool
		if kvs, ok = c.rangeAt(sp, rev); !ok {
			return nil, false
		}
	}
	total := len(kvs) // mvcc counts before the revision filters

	resp := &pb.RangeResponse{Header: c.header(c.rev), Count: int64(total)}
	if r.CountOnly {
		resp.Kvs = []*mvccpb.KeyValue{}
		return resp, true
	}
	// mvcc's FastKeysOnly path reads the index only: no value, no lease.
	fastKeysOnly := r.KeysOnly && r.SortTarget != pb.RangeRequest_VALUE
	out := make([]*mvccpb.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		if (r.MaxModRevision != 0 && kv.ModRevision > r.MaxModRevision) ||
			(r.MinModRevision != 0 && kv.ModRevision < r.MinModRevision) ||
			(r.MaxCreateRevision != 0 && kv.CreateRevision > r.MaxCreateRevision) ||
			(r.MinCreateRevision != 0 && kv.CreateRevision < r.MinCreateRevision) {
			continue
		}
		cp := &mvccpb.KeyValue{Key: kv.Key, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision, Version: kv.Version}
		if !fastKeysOnly {
			cp.Lease = kv.Lease
			cp.Value = kv.Value
		}
		out = append(out, cp)
	}
	sortRange(out, r)
	if r.Limit > 0 && len(out) > int(r.Limit) {
		out = out[:r.Limit]
		resp.More = true
	}
	if r.KeysOnly {
		for _, kv := range out {
			kv.Value = nil
		}
	}
	resp.Kvs = out
	return resp, true
}

// rangeAt rebuilds sp at a past revision by undoing the window's later
// events with their prev_kv; false if an event lacks the prev_kv it needs.
func (c *Cache) rangeAt(sp span, rev int64) ([]*mvccpb.KeyValue, bool) {
	at := map[string]*mvccpb.KeyValue{}
	if !sp.empty() {
		for _, kv := range c.kv.in(sp) {
			at[string(kv.Key)] = kv
		}
	}
	later := c.window.from(rev + 1)
	for i := len(later) - 1; i >= 0; i-- {
		evs := later[i].events
		for j := len(evs) - 1; j >= 0; j-- {
			ev := evs[j]
			if !sp.contains(ev.Kv.Key) || sp.empty() {
				continue
			}
			switch {
			case isCreate(ev):
				delete(at, string(ev.Kv.Key))
			case ev.PrevKv == nil:
				return nil, false
			default:
				at[string(ev.Kv.Key)] = ev.PrevKv
			}
		}
	}
	kvs := make([]*mvccpb.KeyValue, 0, len(at))
	for _, kv := range at {
		kvs = append(kvs, kv)
	}
	sort.Slice(kvs, func(i, j int) bool { return bytes.Compare(kvs[i].Key, kvs[j].Key) < 0 })
	return kvs, true
}

// sortRange is etcd's sortRangeResults: the same sort.Sort over the same
// key-ordered input, so ties come out in etcd's order.
func sortRange(kvs []*mvccpb.KeyValue, r *pb.RangeRequest) {
	order := r.SortOrder
	if r.SortTarget != pb.RangeRequest_KEY && order == pb.RangeRequest_NONE {
		order = pb.RangeRequest_ASCEND
	}
	if order == pb.RangeRequest_NONE || (r.SortTarget == pb.RangeRequest_KEY && order == pb.RangeRequest_ASCEND) {
		return
	}
	var s sort.Interface
	switch r.SortTarget {
	case pb.RangeRequest_KEY:
		s = byKey(kvs)
	case pb.RangeRequest_VERSION:
		s = byVersion(kvs)
	case pb.RangeRequest_CREATE:
		s = byCreate(kvs)
	case pb.RangeRequest_MOD:
		s = byMod(kvs)
	case pb.RangeRequest_VALUE:
		s = byValue(kvs)
	default:
		return
	}
	switch order {
	case pb.RangeRequest_ASCEND:
		sort.Sort(s)
	case pb.RangeRequest_DESCEND:
		sort.Sort(sort.Reverse(s))
	}
}

type (
	byKey     []*mvccpb.KeyValue
	byVersion []*mvccpb.KeyValue
	byCreate  []*mvccpb.KeyValue
	byMod     []*mvccpb.KeyValue
	byValue   []*mvccpb.KeyValue
)

func (s byKey) Len() int               { return len(s) }
func (s byKey) Swap(i, j int)          { s[i], s[j] = s[j], s[i] }
func (s byKey) Less(i, j int) bool     { return bytes.Compare(s[i].Key, s[j].Key) < 0 }
func (s byVersion) Len() int           { return len(s) }
func (s byVersion) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
func (s byVersion) Less(i, j int) bool { return s[i].Version-s[j].Version < 0 }
func (s byCreate) Len() int            { return len(s) }
func (s byCreate) Swap(i, j int)       { s[i], s[j] = s[j], s[i] }
func (s byCreate) Less(i, j int) bool  { return s[i].CreateRevision-s[j].CreateRevision < 0 }
func (s byMod) Len() int               { return len(s) }
func (s byMod) Swap(i, j int)          { s[i], s[j] = s[j], s[i] }
func (s byMod) Less(i, j int) bool     { return s[i].ModRevision-s[j].ModRevision < 0 }
func (s byValue) Len() int             { return len(s) }
func (s byValue) Swap(i, j int)        { s[i], s[j] = s[j], s[i] }
func (s byValue) Less(i, j int) bool   { return bytes.Compare(s[i].Value, s[j].Value) < 0 }

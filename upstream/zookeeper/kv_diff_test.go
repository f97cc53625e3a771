package zookeeper

import (
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

func put(k, v string) *pb.PutRequest { return &pb.PutRequest{Key: []byte(k), Value: []byte(v)} }

func rng(k, end string) *pb.RangeRequest {
	r := &pb.RangeRequest{Key: []byte(k)}
	if end != "" {
		r.RangeEnd = []byte(end)
	}
	return r
}

func with[T proto.Message](m T, f func(T)) T { f(m); return m }

func op(m proto.Message) *pb.RequestOp {
	switch r := m.(type) {
	case *pb.RangeRequest:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: r}}
	case *pb.PutRequest:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: r}}
	case *pb.DeleteRangeRequest:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: r}}
	}
	panic("op of " + string(m.ProtoReflect().Descriptor().FullName()))
}

func nested(t *pb.TxnRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: t}}
}

func cmpVersion(k string, r pb.Compare_CompareResult, v int64) *pb.Compare {
	return &pb.Compare{Key: []byte(k), Target: pb.Compare_VERSION, Result: r, TargetUnion: &pb.Compare_Version{Version: v}}
}

func cmpValue(k string, r pb.Compare_CompareResult, v string) *pb.Compare {
	return &pb.Compare{Key: []byte(k), Target: pb.Compare_VALUE, Result: r, TargetUnion: &pb.Compare_Value{Value: []byte(v)}}
}

func cmpCreate(k string, r pb.Compare_CompareResult, rev int64) *pb.Compare {
	return &pb.Compare{Key: []byte(k), Target: pb.Compare_CREATE, Result: r, TargetUnion: &pb.Compare_CreateRevision{CreateRevision: rev}}
}

// seed is a keyspace with keys at several depths, a key that is also a
// directory's prefix, a key ending in '/', and bytes that need escaping.
var seed = []proto.Message{
	put("a", "1"), put("a/b", "2"), put("a/b/c", "3"), put("a/", "slash"), put("a/b2", "4"),
	put("/svc/web/n1", "10.0.0.1"), put("/svc/web/n2", "10.0.0.2"), put("/svc/db/n1", "10.0.1.1"),
	put("b", "z"), put("a/b", "2bis"), put("%2F", "pct"), put("\x00k\xff", "bin"), put("..", "dots"),
}

func TestKVMatchesEtcd(t *testing.T) {
	asc, desc := pb.RangeRequest_ASCEND, pb.RangeRequest_DESCEND
	for _, tc := range []struct {
		name  string
		steps []proto.Message
	}{
		{"put and get", []proto.Message{
			put("k", "v"), rng("k", ""), put("k", "v2"), rng("k", ""), rng("missing", ""),
			with(put("k", "v3"), func(r *pb.PutRequest) { r.PrevKv = true }),
			with(put("new", "v"), func(r *pb.PutRequest) { r.PrevKv = true }),
			with(put("k", ""), func(r *pb.PutRequest) { r.IgnoreValue = true; r.Lease = 0 }),
			with(put("k", "x"), func(r *pb.PutRequest) { r.IgnoreLease = true }),
			with(put("nokey", ""), func(r *pb.PutRequest) { r.IgnoreValue = true }),
			with(put("nokey", "x"), func(r *pb.PutRequest) { r.IgnoreLease = true }),
			with(put("k", "x"), func(r *pb.PutRequest) { r.IgnoreValue = true }),
			put("", "empty key"), rng("", ""), rng("k", ""),
		}},
		{"ranges", append(append([]proto.Message{}, seed...),
			rng("a", "b"), rng("a/", "a0"), rng("/svc/", "/svc0"), rng("/svc/web/", "/svc/web0"),
			rng("\x00", "\x00"), rng("a/b", "\x00"), rng("a/b/", "a/b0"), rng("a/b", "a/b/c"),
			rng("/svc/web/n1", "/svc/web/n2"), rng("zzz", "\x00"), rng("b", "a"), rng("\x00", "a"),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.Limit = 3 }),
			with(rng("a", "b"), func(r *pb.RangeRequest) { r.Limit = 5 }),
			with(rng("a", "b"), func(r *pb.RangeRequest) { r.Limit = 10 }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.CountOnly = true }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.KeysOnly = true; r.Limit = 2 }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.SortOrder = desc }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.SortTarget = pb.RangeRequest_MOD; r.SortOrder = desc; r.Limit = 4 }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.SortTarget = pb.RangeRequest_CREATE }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.SortTarget = pb.RangeRequest_VALUE; r.SortOrder = asc }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.SortTarget = pb.RangeRequest_VERSION; r.SortOrder = desc }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.SortOrder = 7 }),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.Serializable = true }),
		)},
		{"revision filters", append(append([]proto.Message{}, seed...),
			with(rng("\x00", "\x00"), func(r *pb.RangeRequest) { r.MinModRevision = 1 }),
			with(rng("a", "b"), func(r *pb.RangeRequest) { r.MaxCreateRevision = 1 << 62; r.Limit = 2 }),
		)},
		{"delete", append(append([]proto.Message{}, seed...),
			&pb.DeleteRangeRequest{Key: []byte("a/b"), PrevKv: true}, rng("\x00", "\x00"),
			&pb.DeleteRangeRequest{Key: []byte("nothing")},
			&pb.DeleteRangeRequest{Key: []byte("/svc/"), RangeEnd: []byte("/svc0"), PrevKv: true},
			rng("/svc/", "/svc0"), put("/svc/web/n1", "back"), rng("\x00", "\x00"),
			&pb.DeleteRangeRequest{Key: []byte("a"), RangeEnd: []byte("a/b2")},
			&pb.DeleteRangeRequest{Key: []byte("\x00"), RangeEnd: []byte("\x00")},
			rng("\x00", "\x00"), &pb.DeleteRangeRequest{},
		)},
		{"txn", append(append([]proto.Message{}, seed...),
			&pb.TxnRequest{Compare: []*pb.Compare{cmpVersion("a", pb.Compare_EQUAL, 1)},
				Success: []*pb.RequestOp{op(put("a", "won")), op(rng("a", "a0"))}, Failure: []*pb.RequestOp{op(rng("a", ""))}},
			&pb.TxnRequest{Compare: []*pb.Compare{cmpVersion("a", pb.Compare_EQUAL, 1)},
				Success: []*pb.RequestOp{op(put("a", "again"))}, Failure: []*pb.RequestOp{op(rng("a", ""))}},
			&pb.TxnRequest{Compare: []*pb.Compare{cmpCreate("lock/1", pb.Compare_EQUAL, 0)},
				Success: []*pb.RequestOp{op(put("lock/1", "me")), op(with(rng("lock/", "lock0"), func(r *pb.RangeRequest) {
					r.SortTarget, r.SortOrder, r.Limit = pb.RangeRequest_CREATE, asc, 1
				}))}},
			&pb.TxnRequest{Compare: []*pb.Compare{cmpCreate("lock/1", pb.Compare_EQUAL, 0)},
				Success: []*pb.RequestOp{op(put("lock/1", "me"))}, Failure: []*pb.RequestOp{op(rng("lock/1", ""))}},
			// A key the txn writes sorts by the txn's revision, after every
			// key there is (clientv3's Mutex finds the lock's owner so).
			&pb.TxnRequest{Compare: []*pb.Compare{cmpCreate("lock/2", pb.Compare_EQUAL, 0)},
				Success: []*pb.RequestOp{op(put("lock/2", "me")), op(with(rng("lock/", "lock0"), func(r *pb.RangeRequest) {
					r.SortTarget, r.SortOrder, r.Limit = pb.RangeRequest_CREATE, asc, 1
				})), op(with(rng("lock/", "lock0"), func(r *pb.RangeRequest) {
					r.SortTarget, r.SortOrder = pb.RangeRequest_MOD, desc
				}))}},
			&pb.TxnRequest{Compare: []*pb.Compare{cmpValue("b", pb.Compare_EQUAL, "z"), cmpValue("nope", pb.Compare_NOT_EQUAL, "")},
				Success: []*pb.RequestOp{op(put("c", "1"))}, Failure: []*pb.RequestOp{op(put("c", "2")), op(rng("c", ""))}},
			&pb.TxnRequest{Compare: []*pb.Compare{{Key: []byte("/svc/"), RangeEnd: []byte("/svc0"), Target: pb.Compare_VERSION,
				Result: pb.Compare_GREATER, TargetUnion: &pb.Compare_Version{Version: 0}}},
				Success: []*pb.RequestOp{op(&pb.DeleteRangeRequest{Key: []byte("/svc/"), RangeEnd: []byte("/svc0"), PrevKv: true}),
					op(rng("/svc/", "/svc0")), op(put("/svc/web/n3", "new")), op(rng("/svc/", "/svc0"))}},
			&pb.TxnRequest{Success: []*pb.RequestOp{op(put("d", "1")), op(put("d", "2"))}},
			&pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.DeleteRangeRequest{Key: []byte("c"), RangeEnd: []byte("e")}), op(put("d", "2"))}},
			&pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.DeleteRangeRequest{Key: []byte("a"), RangeEnd: []byte("b")}),
				op(&pb.DeleteRangeRequest{Key: []byte("a/"), RangeEnd: []byte("a0"), PrevKv: true})}},
			// Nested txns: the inner compares see the state before the
			// outer txn (a put earlier in the branch does not count), the
			// inner ops see the earlier ops; a key may be put by both
			// branches of a nested txn, not by the nested txn and the
			// branch around it.
			&pb.TxnRequest{Compare: []*pb.Compare{cmpValue("b", pb.Compare_EQUAL, "z")},
				Success: []*pb.RequestOp{op(put("n/1", "outer")), nested(&pb.TxnRequest{
					Compare: []*pb.Compare{cmpVersion("n/1", pb.Compare_EQUAL, 0)},
					Success: []*pb.RequestOp{op(put("n/2", "inner-then")), op(rng("n/", "n0"))},
					Failure: []*pb.RequestOp{op(put("n/2", "inner-else"))}}),
					op(rng("n/", "n0"))}},
			&pb.TxnRequest{Success: []*pb.RequestOp{nested(&pb.TxnRequest{
				Compare: []*pb.Compare{cmpValue("n/2", pb.Compare_EQUAL, "nope")},
				Success: []*pb.RequestOp{op(put("n/3", "then"))},
				Failure: []*pb.RequestOp{op(&pb.DeleteRangeRequest{Key: []byte("n/"), RangeEnd: []byte("n0"), PrevKv: true}), nested(&pb.TxnRequest{
					Success: []*pb.RequestOp{op(put("n/4", "deep"))}})}})}},
			&pb.TxnRequest{Success: []*pb.RequestOp{op(put("n/5", "x")), nested(&pb.TxnRequest{Success: []*pb.RequestOp{op(put("n/5", "y"))}})}},
			&pb.TxnRequest{Success: []*pb.RequestOp{op(&pb.DeleteRangeRequest{Key: []byte("n/"), RangeEnd: []byte("n0")}),
				nested(&pb.TxnRequest{Failure: []*pb.RequestOp{op(put("n/6", "x"))}})}},
			rng("n/", "n0"),
			&pb.TxnRequest{Compare: []*pb.Compare{{Key: nil}}},
			&pb.TxnRequest{Success: []*pb.RequestOp{{}}},
			&pb.TxnRequest{},
			rng("\x00", "\x00"),
		)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDiffer(t)
			for _, step := range tc.steps {
				d.check(step)
			}
		})
	}
}

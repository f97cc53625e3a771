package zookeeper

import (
	"context"
	"fmt"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// differ runs the same requests against etcd and the ZooKeeper adapter and
// compares the answers. Revisions differ in number (etcd counts from 1,
// ZooKeeper's are zxids) but not in order or meaning: every revision the
// adapter answers must be the one that corresponds to etcd's, learned from
// the writes both answered.
type differ struct {
	t    *testing.T
	etcd pb.KVClient
	zk   *Client
	revs map[int64]int64 // ZooKeeper revision → etcd revision
}

func newDiffer(t *testing.T) *differ {
	d := &differ{t: t, etcd: etcdKV(t), zk: dialZK(t, nil, ""), revs: map[int64]int64{}}
	// Both stores are empty: their current revisions correspond.
	e, z := d.do(&pb.RangeRequest{Key: []byte("x")})
	d.revs[header(z).GetRevision()] = header(e).GetRevision()
	return d
}

func (d *differ) do(req proto.Message) (etcdAns, zkAns any) {
	ctx := context.Background()
	call := func(kv interface {
		Range(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error)
		Put(context.Context, *pb.PutRequest) (*pb.PutResponse, error)
		DeleteRange(context.Context, *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error)
		Txn(context.Context, *pb.TxnRequest) (*pb.TxnResponse, error)
	}) any {
		var resp proto.Message
		var err error
		switch r := req.(type) {
		case *pb.RangeRequest:
			resp, err = kv.Range(ctx, r)
		case *pb.PutRequest:
			resp, err = kv.Put(ctx, r)
		case *pb.DeleteRangeRequest:
			resp, err = kv.DeleteRange(ctx, r)
		case *pb.TxnRequest:
			resp, err = kv.Txn(ctx, r)
		}
		if err != nil {
			return err
		}
		return resp
	}
	return call(etcdClient{d.etcd}), call(d.zk)
}

// etcdClient drops the grpc.CallOption arguments.
type etcdClient struct{ kv pb.KVClient }

func (c etcdClient) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	return c.kv.Range(ctx, r)
}
func (c etcdClient) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	return c.kv.Put(ctx, r)
}
func (c etcdClient) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	return c.kv.DeleteRange(ctx, r)
}
func (c etcdClient) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	return c.kv.Txn(ctx, r)
}

func header(ans any) *pb.ResponseHeader {
	if m, ok := ans.(interface{ GetHeader() *pb.ResponseHeader }); ok {
		return m.GetHeader()
	}
	return nil
}

// check runs req on both and fails the test if the answers differ.
func (d *differ) check(req proto.Message) {
	d.t.Helper()
	e, z := d.do(req)
	if eh, zh := header(e), header(z); eh != nil && zh != nil {
		if _, known := d.revs[zh.Revision]; !known {
			d.revs[zh.Revision] = eh.Revision // a write: its revision pairs the two
		}
	}
	if got, want := d.normalize(z, false), d.normalize(e, true); got != want {
		d.t.Errorf("%T %s:\n etcd: %s\n   zk: %s", req, prototext.Format(req), want, got)
	}
}

// normalize prints an answer with ZooKeeper's revisions translated and
// the header's cluster fields cleared (herald's proxy fills them).
func (d *differ) normalize(ans any, isEtcd bool) string {
	if err, ok := ans.(error); ok {
		s, _ := status.FromError(err)
		return fmt.Sprintf("error %v: %s", s.Code(), s.Message())
	}
	m := proto.Clone(ans.(proto.Message))
	rev := func(r int64) int64 {
		if isEtcd || r == 0 {
			return r
		}
		if e, ok := d.revs[r]; ok {
			return e
		}
		d.t.Errorf("revision %d answered by ZooKeeper matches no write", r)
		return -r
	}
	walkKV := func(kvs ...*mvccpb.KeyValue) {
		for _, kv := range kvs {
			if kv != nil {
				kv.CreateRevision, kv.ModRevision = rev(kv.CreateRevision), rev(kv.ModRevision)
			}
		}
	}
	var walk func(m proto.Message)
	walk = func(m proto.Message) {
		if h := header(m); h != nil {
			h.ClusterId, h.MemberId, h.RaftTerm, h.Revision = 0, 0, 0, rev(h.Revision)
		}
		switch r := m.(type) {
		case *pb.RangeResponse:
			walkKV(r.Kvs...)
		case *pb.PutResponse:
			walkKV(r.PrevKv)
		case *pb.DeleteRangeResponse:
			walkKV(r.PrevKvs...)
		case *pb.TxnResponse:
			for _, op := range r.Responses {
				switch v := op.Response.(type) {
				case *pb.ResponseOp_ResponseRange:
					walk(v.ResponseRange)
				case *pb.ResponseOp_ResponsePut:
					walk(v.ResponsePut)
				case *pb.ResponseOp_ResponseDeleteRange:
					walk(v.ResponseDeleteRange)
				case *pb.ResponseOp_ResponseTxn:
					walk(v.ResponseTxn)
				}
			}
		}
	}
	walk(m)
	return prototext.MarshalOptions{}.Format(m)
}

package lease

import (
	"context"
	"path/filepath"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	etcdtxn "go.etcd.io/etcd/server/v3/etcdserver/txn"
	etcdlease "go.etcd.io/etcd/server/v3/lease"
	"go.etcd.io/etcd/server/v3/storage/backend"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.uber.org/zap"
)

// etcdStore is etcd's own key-value store and transaction code (v3.7.3, as
// the server applies a Txn), in process: the real thing that herald's
// rewrites are compared with. Leases are a fake lessor that knows the IDs
// granted to it; nothing expires. Not the gRPC layer: request validation
// (--max-txn-ops, duplicate keys) is not applied.
type etcdStore struct {
	t      *testing.T
	kv     mvcc.WatchableKV
	lessor *etcdlease.FakeLessor
	watch  mvcc.WatchStream // on the reserved prefix of testKS
}

func newEtcdStore(t *testing.T, leases ...ID) *etcdStore {
	t.Helper()
	cfg := backend.DefaultBackendConfig(zap.NewNop())
	cfg.Path = filepath.Join(t.TempDir(), "db")
	be := backend.New(cfg)
	lessor := &etcdlease.FakeLessor{LeaseSet: map[etcdlease.LeaseID]struct{}{}}
	kv := mvcc.New(zap.NewNop(), be, lessor, mvcc.StoreConfig{})
	s := &etcdStore{t: t, kv: kv, lessor: lessor, watch: kv.NewWatchStream()}
	if _, err := s.watch.Watch(context.Background(), 0, testKS.Prefix(), testKS.End(), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.watch.Close()
		kv.Close()
		be.Close()
	})
	s.grant(leases...)
	return s
}

func (s *etcdStore) grant(ids ...ID) {
	for _, id := range ids {
		s.lessor.LeaseSet[etcdlease.LeaseID(id)] = struct{}{}
	}
}

// txn runs r as etcd's apply loop would.
func (s *etcdStore) txn(r *pb.TxnRequest) (*pb.TxnResponse, error) {
	resp, _, err := etcdtxn.Txn(context.Background(), zap.NewNop(), r, false, s.kv, s.lessor, false)
	return resp, err
}

func (s *etcdStore) mustTxn(r *pb.TxnRequest) *pb.TxnResponse {
	s.t.Helper()
	resp, err := s.txn(r)
	if err != nil {
		s.t.Fatalf("txn %v: %v", r, err)
	}
	return resp
}

// events drains what the watch on the reserved prefix has seen so far; the
// store notifies synced watchers before a write returns.
func (s *etcdStore) events() (evs []*mvccpb.Event) {
	for {
		select {
		case wr := <-s.watch.Chan():
			evs = append(evs, wr.Events...)
		default:
			return evs
		}
	}
}

func (s *etcdStore) rev() int64 { return s.kv.Rev() }

// rangeAll reads every key, ascending.
func (s *etcdStore) rangeAll() []*mvccpb.KeyValue {
	s.t.Helper()
	resp := s.mustTxn(&pb.TxnRequest{Success: []*pb.RequestOp{opRange(Span{Key: []byte{0}, End: []byte{0}})}})
	return resp.Responses[0].GetResponseRange().Kvs
}

func opRange(s Span) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: s.Key, RangeEnd: s.End}}}
}

package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"golang.org/x/sync/errgroup"
)

// TestRevisionsAndLimits covers what the differential tests cannot ask
// etcd the same way: reads at a revision (ZooKeeper keeps no history),
// compaction, and ZooKeeper's size limit.
func TestRevisionsAndLimits(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	w, err := c.Put(ctx, put("k", "v"))
	if err != nil {
		t.Fatal(err)
	}
	rev := w.Header.Revision
	if _, err := c.Put(ctx, put("other", "v")); err != nil {
		t.Fatal(err)
	}
	now, err := c.Range(ctx, rng("k", ""))
	if err != nil {
		t.Fatal(err)
	}
	cur := now.Header.Revision
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"range at the current revision", func() error {
			_, err := c.Range(ctx, with(rng("k", ""), func(r *pb.RangeRequest) { r.Revision = cur }))
			return err
		}, nil},
		{"range at an older revision", func() error {
			_, err := c.Range(ctx, with(rng("k", ""), func(r *pb.RangeRequest) { r.Revision = rev }))
			return err
		}, rpctypes.ErrGRPCCompacted},
		{"range at a future revision", func() error {
			_, err := c.Range(ctx, with(rng("k", ""), func(r *pb.RangeRequest) { r.Revision = cur + 1 }))
			return err
		}, rpctypes.ErrGRPCFutureRev},
		{"compact at the current revision", func() error {
			_, err := c.Compact(ctx, &pb.CompactionRequest{Revision: cur})
			return err
		}, nil},
		{"compact in the future", func() error {
			_, err := c.Compact(ctx, &pb.CompactionRequest{Revision: cur + 1})
			return err
		}, rpctypes.ErrGRPCFutureRev},
		{"a value over ZooKeeper's limit", func() error {
			_, err := c.Put(ctx, put("big", strings.Repeat("x", defaultMaxDataBytes)))
			return err
		}, rpctypes.ErrGRPCRequestTooLarge},
		{"a txn over ZooKeeper's limit", func() error {
			var ops []*pb.RequestOp
			for i := range 3 {
				ops = append(ops, op(put(fmt.Sprint("big", i), strings.Repeat("x", defaultMaxDataBytes/2))))
			}
			_, err := c.Txn(ctx, &pb.TxnRequest{Success: ops})
			return err
		}, rpctypes.ErrGRPCRequestTooLarge},
		{"too many ops", func() error {
			ops := make([]*pb.RequestOp, defaultMaxTxnOps+1)
			for i := range ops {
				ops[i] = op(rng(fmt.Sprint(i), ""))
			}
			_, err := c.Txn(ctx, &pb.TxnRequest{Success: ops})
			return err
		}, rpctypes.ErrGRPCTooManyOps},
	} {
		if err := tc.call(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if r, err := c.Range(ctx, rng("big", "big9")); err != nil || r.Count != 0 {
		t.Fatalf("a refused write left keys: %v, %v", r, err)
	}
}

// TestTxnIsAtomicUnderContention: writers increment one counter with a
// compare on its mod_revision (the exact pin: version and the directory's
// generation) and another with a compare on its version; no increment is
// lost or doubled.
func TestTxnIsAtomicUnderContention(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	const writers, each = 4, 15
	for _, target := range []pb.Compare_CompareTarget{pb.Compare_MOD, pb.Compare_VERSION} {
		key := "/counters/" + target.String()
		var g errgroup.Group
		for range writers {
			g.Go(func() error {
				for done := 0; done < each; {
					cur, err := c.Range(ctx, rng(key, ""))
					if err != nil {
						return err
					}
					n, cmp := 0, &pb.Compare{Key: []byte(key), Target: target, Result: pb.Compare_EQUAL}
					var mod, version int64
					if len(cur.Kvs) == 1 {
						n, _ = strconv.Atoi(string(cur.Kvs[0].Value))
						mod, version = cur.Kvs[0].ModRevision, cur.Kvs[0].Version
					}
					if target == pb.Compare_MOD {
						cmp.TargetUnion = &pb.Compare_ModRevision{ModRevision: mod}
					} else {
						cmp.TargetUnion = &pb.Compare_Version{Version: version}
					}
					res, err := c.Txn(ctx, &pb.TxnRequest{Compare: []*pb.Compare{cmp},
						Success: []*pb.RequestOp{op(put(key, strconv.Itoa(n+1)))}})
					if err != nil {
						return err
					}
					if res.Succeeded {
						done++
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		got, err := c.Range(ctx, rng(key, ""))
		if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != strconv.Itoa(writers*each) {
			t.Fatalf("%v counter = %v, %v; want %d", target, got, err, writers*each)
		}
		if got.Kvs[0].Version != writers*each {
			t.Fatalf("%v counter version %d, want %d", target, got.Kvs[0].Version, writers*each)
		}
	}
}

// TestPrefixDeleteIsAtomic: creators add keys under /p/ while deleters
// delete the prefix. Every key created before a delete's revision and not
// deleted earlier is in that delete's prev_kvs (none escapes it), its
// count is its prev_kvs, and keys no delete took are still there.
func TestPrefixDeleteIsAtomic(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	type created struct {
		key string
		rev int64
	}
	var creates []created
	var deletes []*pb.DeleteRangeResponse
	var stop atomic.Bool
	var g errgroup.Group
	g.Go(func() error {
		for i := 0; i < 120; i++ {
			key := fmt.Sprintf("/p/d%d/k%03d", i%3, i)
			r, err := c.Put(ctx, put(key, "v"))
			if err != nil {
				return err
			}
			creates = append(creates, created{key, r.Header.Revision})
		}
		stop.Store(true)
		return nil
	})
	g.Go(func() error {
		for !stop.Load() {
			r, err := c.DeleteRange(ctx, &pb.DeleteRangeRequest{Key: []byte("/p/"), RangeEnd: []byte("/p0"), PrevKv: true})
			if err != nil {
				return err
			}
			if r.Deleted != int64(len(r.PrevKvs)) {
				return fmt.Errorf("deleted %d, %d prev_kvs", r.Deleted, len(r.PrevKvs))
			}
			if r.Deleted > 0 {
				deletes = append(deletes, r)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	left, err := c.Range(ctx, rng("/p/", "/p0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(deletes) == 0 {
		t.Fatal("no delete took anything; the test tested nothing")
	}
	for _, cr := range creates {
		taken := false
		for _, d := range deletes {
			if d.Header.Revision < cr.rev {
				continue
			}
			for _, kv := range d.PrevKvs {
				taken = taken || bytes.Equal(kv.Key, []byte(cr.key))
			}
			if !taken {
				t.Errorf("%s (created at %d) escaped the delete at %d", cr.key, cr.rev, d.Header.Revision)
			}
			break
		}
		if !taken {
			found := false
			for _, kv := range left.Kvs {
				found = found || string(kv.Key) == cr.key
			}
			if !found {
				t.Errorf("%s (created at %d): no delete took it and it is gone", cr.key, cr.rev)
			}
		}
	}
}

// TestRangeSeesOneRevision: a writer sets two keys of two directories in
// one txn, again and again; ranges over both always see them equal.
func TestRangeSeesOneRevision(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	var stop atomic.Bool
	var g errgroup.Group
	g.Go(func() error {
		defer stop.Store(true)
		for i := range 150 {
			v := strconv.Itoa(i)
			if _, err := c.Txn(ctx, &pb.TxnRequest{Success: []*pb.RequestOp{op(put("/c/x/a", v)), op(put("/c/y/b", v))}}); err != nil {
				return err
			}
		}
		return nil
	})
	ranges := 0
	g.Go(func() error {
		for !stop.Load() {
			r, err := c.Range(ctx, rng("/c/", "/c0"))
			if err != nil {
				return err
			}
			ranges++
			if len(r.Kvs) == 2 && (!bytes.Equal(r.Kvs[0].Value, r.Kvs[1].Value) || r.Kvs[0].ModRevision != r.Kvs[1].ModRevision) {
				return fmt.Errorf("one range saw two revisions: %v", r.Kvs)
			}
			if len(r.Kvs) == 1 {
				return fmt.Errorf("one range saw half a txn: %v", r.Kvs)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if ranges == 0 {
		t.Fatal("no range ran during the writes")
	}
}

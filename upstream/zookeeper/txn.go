package zookeeper

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/internal/backoff"
)

// Put is a txn of one put, answered as etcd answers a Put.
func (c *Client) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	resp, err := c.Txn(ctx, &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: r}}}})
	if err != nil {
		return nil, err
	}
	put := resp.Responses[0].GetResponsePut()
	put.Header = resp.Header
	return put, nil
}

// DeleteRange is a txn of one delete: a range's keys go in one multi, each
// with its version checked and every directory of the range with its
// generation, so the delete is atomic and exact or is planned again.
func (c *Client) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	resp, err := c.Txn(ctx, &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: r}}}})
	if err != nil {
		return nil, err
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	del.Header = resp.Header
	return del, nil
}

// Compact answers as a store whose history is always compacted up to its
// current revision: compacting at or below it changes nothing, above it is
// etcd's future-revision error.
func (c *Client) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	rev, err := c.currentRevision(false)
	if err != nil {
		return nil, grpcError(ctx, "compact", err)
	}
	if r.Revision > rev {
		return nil, rpctypes.ErrGRPCFutureRev
	}
	return &pb.CompactionResponse{Header: &pb.ResponseHeader{Revision: rev}}, nil
}

// Txn evaluates the compares and runs one branch, atomically: it reads
// what the txn depends on, decides, and commits one multi that checks
// those reads (plan). A conflict plans again, after a short backoff, until
// ctx ends. A txn that writes nothing is answered at the revision read
// first, if its reads are that revision's state (as Range is).
func (c *Client) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if err := c.checkTxn(r); err != nil {
		return nil, err
	}
	b := backoff.New(time.Millisecond, 50*time.Millisecond)
	for {
		if err := ctx.Err(); err != nil {
			return nil, grpcError(ctx, "txn", err)
		}
		resp, err := c.txnAttempt(r)
		if err == nil {
			return resp, nil
		}
		if !conflict(err) {
			return nil, grpcError(ctx, "txn", err)
		}
		if !b.Wait(ctx) {
			return nil, grpcError(ctx, "txn", ctx.Err())
		}
	}
}

// errStale is an attempt whose reads were not one revision's state.
var errStale = fmt.Errorf("zookeeper: reads changed under the txn: %w", errConflict)

func (c *Client) txnAttempt(r *pb.TxnRequest) (*pb.TxnResponse, error) {
	rev, err := c.currentRevision(false)
	if err != nil {
		return nil, err
	}
	p := newPlan(c, newReader(c, true))
	resp, err := p.txn(r)
	if err != nil {
		return nil, err
	}
	if p.bytes > c.cfg.MaxDataBytes {
		return nil, rpctypes.ErrGRPCRequestTooLarge
	}
	if p.hasWrites() {
		if rev, err = p.commit(); err != nil {
			return nil, err
		}
	} else if !p.rd.consistentAt(rev) {
		return nil, errStale
	}
	resp.Header = &pb.ResponseHeader{Revision: rev}
	setHeaders(resp, resp.Header)
	return resp, nil
}

// setHeaders gives the answers of a txn's ops its header, nested txns'
// included (etcd's nested answers carry an empty one).
func setHeaders(resp *pb.TxnResponse, h *pb.ResponseHeader) {
	for _, op := range resp.Responses {
		switch v := op.Response.(type) {
		case *pb.ResponseOp_ResponseRange:
			v.ResponseRange.Header = h
		case *pb.ResponseOp_ResponsePut:
			v.ResponsePut.Header = h
		case *pb.ResponseOp_ResponseDeleteRange:
			v.ResponseDeleteRange.Header = h
		case *pb.ResponseOp_ResponseTxn:
			v.ResponseTxn.Header = &pb.ResponseHeader{}
			setHeaders(v.ResponseTxn, h)
		}
	}
}

// txn evaluates a txn's compares and plans its branch. A nested txn's
// compares see the state before the outer txn, not its earlier ops, as in
// etcd (which evaluates every compare of a txn first): compare reads the
// store, never the overlay.
func (p *plan) txn(r *pb.TxnRequest) (*pb.TxnResponse, error) {
	ok := true
	for _, cmp := range r.Compare {
		res, err := p.compare(cmp)
		if err != nil {
			return nil, err
		}
		if !res {
			ok = false
			break
		}
	}
	ops := r.Success
	if !ok {
		ops = r.Failure
	}
	resp := &pb.TxnResponse{Succeeded: ok, Responses: make([]*pb.ResponseOp, len(ops))}
	for i, op := range ops {
		var err error
		if resp.Responses[i], err = p.apply(op); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func (p *plan) apply(op *pb.RequestOp) (*pb.ResponseOp, error) {
	switch v := op.Request.(type) {
	case *pb.RequestOp_RequestRange:
		res, err := p.rangeOp(v.RequestRange)
		return &pb.ResponseOp{Response: &pb.ResponseOp_ResponseRange{ResponseRange: res}}, err
	case *pb.RequestOp_RequestPut:
		res, err := p.put(v.RequestPut)
		return &pb.ResponseOp{Response: &pb.ResponseOp_ResponsePut{ResponsePut: res}}, err
	case *pb.RequestOp_RequestDeleteRange:
		res, err := p.deleteRange(v.RequestDeleteRange)
		return &pb.ResponseOp{Response: &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: res}}, err
	case *pb.RequestOp_RequestTxn:
		res, err := p.txn(v.RequestTxn)
		return &pb.ResponseOp{Response: &pb.ResponseOp_ResponseTxn{ResponseTxn: res}}, err
	}
	return nil, rpctypes.ErrGRPCKeyNotFound // an empty op (checkOp refuses it first)
}

// put plans a create (the create itself checks the key is still absent)
// or a set at the version read, and shows the key to the txn's later ops.
func (p *plan) put(r *pb.PutRequest) (*pb.PutResponse, error) {
	_, cur, err := p.state(r.Key) // a key written earlier in the txn is a duplicate (checkTxn)
	if err != nil {
		return nil, err
	}
	if (r.IgnoreValue || r.IgnoreLease) && !cur.present {
		return nil, rpctypes.ErrGRPCKeyNotFound
	}
	value, lease := r.Value, r.Lease
	if r.IgnoreValue {
		value = cur.value
	}
	if r.IgnoreLease {
		lease = cur.lease
	}
	data := encodeData(value, lease)
	if len(data) > p.c.cfg.MaxDataBytes {
		return nil, rpctypes.ErrGRPCRequestTooLarge
	}
	kv := &mvccpb.KeyValue{Key: r.Key, Value: value, Lease: lease, Version: 1}
	res := &pb.PutResponse{}
	var from int64 // the lease the key leaves (lease_index.go)
	if cur.present {
		from = cur.lease
		// prev_kv, the ignore flags and the lease entries answer from the
		// read: the parent's generation proves it was this incarnation's.
		if err := p.pinLeaf(cur, r.PrevKv || r.IgnoreValue || r.IgnoreLease || from != 0 || lease != 0); err != nil {
			return nil, err
		}
		p.set(cur, data)
		kv.CreateRevision, kv.Version = cur.stat.Czxid, int64(cur.stat.Version)+2
		if r.PrevKv {
			res.PrevKv = cur.kv()
		}
	} else if err := p.create(r.Key, cur.path, data); err != nil {
		return nil, err
	}
	if err := p.relink(r.Key, from, lease); err != nil {
		return nil, err
	}
	created := !cur.present
	p.overlay[string(r.Key)] = &pending{kv: kv, created: created}
	p.fill = append(p.fill, func(rev int64) {
		kv.ModRevision = rev
		if created {
			kv.CreateRevision = rev
		}
	})
	return res, nil
}

// deleteRange plans the delete of every key of the range that is present
// (as read, or as the txn's earlier ops left it), each at its version read.
func (p *plan) deleteRange(r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	leaves, err := p.readRange(r.Key, r.RangeEnd, r.PrevKv)
	if err != nil {
		return nil, err
	}
	res := &pb.DeleteRangeResponse{}
	for _, l := range leaves {
		if o, ok := p.overlay[string(l.key)]; ok && o.deleted {
			continue // deleted by an earlier op of this txn
		}
		p.delete(l)
		if l.lease != 0 {
			p.unlink(l.key, l.lease)
		}
		p.overlay[string(l.key)] = &pending{deleted: true}
		res.Deleted++
		if r.PrevKv {
			res.PrevKvs = append(res.PrevKvs, l.kv())
		}
	}
	return res, nil
}

// pendingRevision stands for the revision of the txn being planned (its
// zxid, known once the multi commits), above every revision there is.
const pendingRevision = math.MaxInt64

// rangeOp answers a range inside the txn: the keys read, as the txn's
// earlier ops left them.
func (p *plan) rangeOp(r *pb.RangeRequest) (*pb.RangeResponse, error) {
	if r.Revision != 0 {
		return nil, status.Error(codes.Unimplemented, "herald: a range at a revision inside a txn is not supported on the ZooKeeper upstream")
	}
	leaves, err := p.readRange(r.Key, r.RangeEnd, true)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*mvccpb.KeyValue{}
	for _, l := range leaves {
		byKey[string(l.key)] = l.kv()
	}
	for _, k := range p.overlayIn(r.Key, r.RangeEnd) {
		o := p.overlay[k]
		if o.deleted {
			delete(byKey, k)
			continue
		}
		// Its revisions are the txn's own, known at commit: above every
		// revision there is, which is how they sort and filter now.
		kv := cloneKV(o.kv)
		kv.ModRevision = pendingRevision
		if o.created {
			kv.CreateRevision = pendingRevision
		}
		byKey[k] = kv
		p.fill = append(p.fill, func(rev int64) {
			kv.ModRevision = rev
			if o.created {
				kv.CreateRevision = rev
			}
		})
	}
	keys := slices.Sorted(maps.Keys(byKey))
	kvs := make([]*mvccpb.KeyValue, len(keys))
	for i, k := range keys {
		kvs[i] = byKey[k]
	}
	return assembleRange(r, kvs, 0), nil
}

// readRange reads the present keys of key and range_end and pins them:
// every directory the range lists (no key came or went) and each key's
// version, exact (incarnation too) when asked.
func (p *plan) readRange(key, end []byte, exact bool) ([]*leaf, error) {
	if len(end) == 0 {
		l, err := p.rd.get(key)
		if err != nil {
			return nil, err
		}
		// A leased key's entry is deleted with it: the lease must be the
		// one read (exact).
		if err := p.pinLeaf(l, exact || !l.present || l.lease != 0); err != nil {
			return nil, err
		}
		if !l.present {
			return nil, nil
		}
		return []*leaf{l}, nil
	}
	leaves, err := p.rd.span(key, end)
	if err != nil {
		return nil, err
	}
	for _, d := range p.rd.dirs {
		p.pinDir(d)
	}
	for _, l := range leaves {
		p.pin(l.path, l.stat.Version)
	}
	return leaves, nil
}

func cloneKV(kv *mvccpb.KeyValue) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{
		Key: bytes.Clone(kv.Key), CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision,
		Version: kv.Version, Value: bytes.Clone(kv.Value), Lease: kv.Lease,
	}
}

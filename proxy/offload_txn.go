package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/lease"
)

// A client's Put, DeleteRange or Txn is rewritten into one upstream Txn
// when herald has something to add to it:
//
//   - a Put with a virtual lease of this herald goes up attached to the
//     lease's carrier, with the key's attachment record beside it;
//   - a write to a key attached to a virtual lease removes that attachment;
//   - a range (read or delete) that spans the reserved prefix is split into
//     the parts around it, and the answer merged back;
//   - a write into the reserved prefix is refused.
//
// Everything herald adds goes into the same branch as the client's
// operation, after the client's own operations, so the transaction stays
// atomic and the client's responses keep their positions; herald strips its
// own responses and translates carriers back to virtual leases before
// answering. A request with nothing to rewrite is forwarded as it came.

// opPlan says what herald did to one client operation.
type opPlan struct {
	// For a Put with a virtual lease: attach key to lease once the branch
	// ran.
	attach        lease.ID
	attachCarrier int64
	putKey        []byte
	// For a write to a key that was attached: detach it once the branch ran.
	detach lease.ID
	// For a DeleteRange: the deleted keys are detached (prev_kv was turned
	// on to learn them; stripPrev when the client did not ask for them).
	trackDeletes, stripPrev bool
	// For a range split around the reserved prefix: the original request
	// (a read), or that it was a delete.
	splitRange  *pb.RangeRequest
	splitDelete bool
	// For a nested Txn.
	nested *txnPlan
}

// txnPlan is the rewrite of one TxnRequest.
type txnPlan struct {
	success, failure []opPlan
	changed          bool
}

// rewriteTxn returns the request to send upstream and the plan to undo it
// on the answer. offload says whether virtual leases apply (the client has
// no auth token).
func (o *offloader) rewriteTxn(r *pb.TxnRequest, offload bool) (*pb.TxnRequest, *txnPlan, error) {
	out := proto.Clone(r).(*pb.TxnRequest)
	plan := &txnPlan{}
	var err error
	if out.Success, plan.success, err = o.rewriteOps(out.Success, offload, plan); err != nil {
		return nil, nil, err
	}
	if out.Failure, plan.failure, err = o.rewriteOps(out.Failure, offload, plan); err != nil {
		return nil, nil, err
	}
	return out, plan, nil
}

// rewriteOps rewrites one branch. Operations herald adds are appended.
func (o *offloader) rewriteOps(ops []*pb.RequestOp, offload bool, tp *txnPlan) ([]*pb.RequestOp, []opPlan, error) {
	plans := make([]opPlan, len(ops))
	var extra []*pb.RequestOp
	recordAdded := map[lease.ID]bool{} // a key may appear once per branch
	for i, op := range ops {
		p := &plans[i]
		switch u := op.Request.(type) {
		case *pb.RequestOp_RequestPut:
			put := u.RequestPut
			if o.res.contains(put.Key) {
				return nil, nil, o.res.errReserved()
			}
			if !offload || put.IgnoreLease {
				continue
			}
			prev := o.attachedLease(put.Key)
			if carrier, ok := o.liveCarrier(put.Lease); ok {
				p.attach, p.attachCarrier, p.putKey = lease.ID(put.Lease), carrier, put.Key
				put.Lease = carrier
				extra = append(extra, opPut(o.attachKey(p.attach, put.Key), nil, carrier))
				if rec := o.recordOp(p.attach, carrier); rec != nil && !recordAdded[p.attach] {
					recordAdded[p.attach] = true
					extra = append(extra, rec)
				}
				tp.changed = true
			}
			if prev != lease.NoLease && prev != p.attach {
				p.detach, p.putKey = prev, put.Key
				extra = append(extra, opDelete(o.attachKey(prev, put.Key), nil))
				tp.changed = true
			}
		case *pb.RequestOp_RequestDeleteRange:
			del := u.RequestDeleteRange
			sp := span{del.Key, del.RangeEnd}
			track := offload && (!sp.single() || o.attachedLease(sp.key) != lease.NoLease)
			if track {
				// Learn which keys go, to detach them from their leases.
				p.trackDeletes, p.stripPrev = true, !del.PrevKv
				del.PrevKv = true
				tp.changed = true
			}
			if o.res.overlaps(sp) {
				parts := o.res.around(sp)
				if len(parts) == 0 {
					return nil, nil, o.res.errReserved()
				}
				p.splitDelete = true
				op.Request = &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: splitDeletes(del, parts)}}
				tp.changed = true
			}
		case *pb.RequestOp_RequestRange:
			rng := u.RequestRange
			sp := span{rng.Key, rng.RangeEnd}
			if o.res.overlaps(sp) {
				p.splitRange = rng
				var sub []*pb.RequestOp
				for _, part := range o.res.around(sp) {
					q := proto.Clone(rng).(*pb.RangeRequest)
					q.Key, q.RangeEnd = part.key, part.end
					sub = append(sub, &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: q}})
				}
				op.Request = &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: sub}}
				tp.changed = true
			}
		case *pb.RequestOp_RequestTxn:
			nested, np, err := o.rewriteTxn(u.RequestTxn, offload)
			if err != nil {
				return nil, nil, err
			}
			u.RequestTxn = nested
			p.nested = np
			tp.changed = tp.changed || np.changed
		}
	}
	return append(ops, extra...), plans, nil
}

// touchesPut is a cheap check, before any copying, of whether a lone Put
// needs rewriting.
func (o *offloader) touchesPut(ctx context.Context, r *pb.PutRequest) bool {
	if o.res.contains(r.Key) {
		return true
	}
	if !o.serves(ctx) || r.IgnoreLease {
		return false
	}
	return o.owns(r.Lease) || o.attachedLease(r.Key) != lease.NoLease
}

func splitDeletes(del *pb.DeleteRangeRequest, parts []span) []*pb.RequestOp {
	var ops []*pb.RequestOp
	for _, part := range parts {
		ops = append(ops, &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{
			Key: part.key, RangeEnd: part.end, PrevKv: del.PrevKv,
		}}})
	}
	return ops
}

// finishTxn turns the upstream answer back into the one the client expects
// and applies to the table what the executed branch did. Leases are
// translated afterwards, by translateTxn.
func (o *offloader) finishTxn(resp *pb.TxnResponse, plan *txnPlan) {
	plans := plan.failure
	if resp.Succeeded {
		plans = plan.success
	}
	resp.Responses = resp.Responses[:len(plans)]
	for i, p := range plans {
		ro := resp.Responses[i]
		if p.attach != lease.NoLease {
			o.attachAfter(p.attach, p.attachCarrier, p.putKey)
		} else if p.detach != lease.NoLease {
			o.detachKey(p.putKey, p.detach)
		}
		switch {
		case p.splitRange != nil:
			ro.Response = &pb.ResponseOp_ResponseRange{ResponseRange: mergeRanges(p.splitRange, rangeParts(ro.GetResponseTxn()))}
		case p.splitDelete:
			ro.Response = &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: mergeDeletes(ro.GetResponseTxn())}
		case p.nested != nil:
			o.finishTxn(ro.GetResponseTxn(), p.nested)
		}
		if d := ro.GetResponseDeleteRange(); d != nil && p.trackDeletes {
			o.detachDeleted(d.PrevKvs)
			if p.stripPrev {
				d.PrevKvs = nil
			}
		}
	}
}

func rangeParts(t *pb.TxnResponse) []*pb.RangeResponse {
	var out []*pb.RangeResponse
	for _, r := range t.GetResponses() {
		out = append(out, r.GetResponseRange())
	}
	return out
}

func mergeDeletes(t *pb.TxnResponse) *pb.DeleteRangeResponse {
	out := &pb.DeleteRangeResponse{Header: t.GetHeader()}
	for _, r := range t.GetResponses() {
		d := r.GetResponseDeleteRange()
		out.Deleted += d.GetDeleted()
		out.PrevKvs = append(out.PrevKvs, d.GetPrevKvs()...)
	}
	return out
}

// attachedLease is the virtual lease key hangs on, by this herald's table
// or by the fleet index, or NoLease.
func (o *offloader) attachedLease(key []byte) lease.ID {
	o.mu.Lock()
	id := o.table.LeaseOf(string(key))
	o.mu.Unlock()
	if id != lease.NoLease {
		return id
	}
	if id, ok := o.fleet.leaseOf(key); ok {
		return id
	}
	return lease.NoLease
}

// attachAfter records in the table a key that is now upstream with lease's
// carrier, with the lease's record beside it. If the lease ended meanwhile
// (the Put raced with its expiry or revoke), the key, its attachment and the
// record the Put may have written must go too.
func (o *offloader) attachAfter(id lease.ID, carrier int64, key []byte) {
	o.mu.Lock()
	_, err := o.table.Attach(id, string(key), o.now())
	if err == nil {
		o.recorded[id] = true
	}
	o.mu.Unlock()
	if err != nil {
		go o.deleteUntilDone(context.Background(), []doomed{{id: id, carrier: carrier, keys: []string{string(key)}}})
	}
}

// detachKey forgets that key hangs on lease id, if it still does.
func (o *offloader) detachKey(key []byte, id lease.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.table.LeaseOf(string(key)) == id {
		o.table.Detach(string(key))
	}
}

// detachDeleted forgets deleted keys in the table. Their attachment records
// upstream stay until the lease ends: a record whose key is gone deletes
// nothing then (every delete compares the key's lease).
func (o *offloader) detachDeleted(kvs []*mvccpb.KeyValue) {
	if len(kvs) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, kv := range kvs {
		o.table.Detach(string(kv.Key))
	}
}

// translate shows a key's virtual lease instead of its carrier.
func (o *offloader) translate(kv *mvccpb.KeyValue) {
	if kv != nil && kv.Lease != 0 {
		kv.Lease = o.virtualLeaseOf(kv.Key, kv.Lease)
	}
}

func (o *offloader) translateAll(kvs []*mvccpb.KeyValue) {
	for _, kv := range kvs {
		o.translate(kv)
	}
}

func (o *offloader) translateTxn(resp *pb.TxnResponse) {
	for _, r := range resp.GetResponses() {
		switch {
		case r.GetResponseTxn() != nil:
			o.translateTxn(r.GetResponseTxn())
		case r.GetResponseRange() != nil:
			o.translateAll(r.GetResponseRange().Kvs)
		case r.GetResponsePut() != nil:
			o.translate(r.GetResponsePut().PrevKv)
		case r.GetResponseDeleteRange() != nil:
			o.translateAll(r.GetResponseDeleteRange().PrevKvs)
		}
	}
}

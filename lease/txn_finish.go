package lease

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Change is one attachment that the executed branch made or removed.
type Change struct {
	Lease ID
	Key   string
}

// Outcome says what an executed txn did to virtual leases, for the owner's
// table: every attachment made or removed is at revision Rev.
type Outcome struct {
	Rev      int64
	Attached []Change
	Detached []Change
}

// Finish turns the upstream answer into the one the client expects (its
// own responses only, split ranges merged back) and reports what the
// executed branch did to virtual leases. A guarded txn whose compares
// failed named a virtual lease that has ended: ErrLeaseNotFound, as etcd
// answers a Put with a lease it does not know. Leases in the answer are
// still etcd's (carriers): translating them is the caller's job.
func (p *TxnPlan) Finish(resp *pb.TxnResponse) (*pb.TxnResponse, Outcome, error) {
	if p.Txn == nil {
		return resp, Outcome{}, nil
	}
	if p.guarded {
		if !resp.Succeeded || len(resp.Responses) != 1 || resp.Responses[0].GetResponseTxn() == nil {
			return nil, Outcome{}, ErrLeaseNotFound
		}
		inner := resp.Responses[0].GetResponseTxn()
		inner.Header = resp.Header
		resp = inner
	}
	out := Outcome{Rev: resp.GetHeader().GetRevision()}
	finish(resp, p.root, &out)
	return resp, out, nil
}

// finish strips and merges one level. Responses inside a txn carry the
// txn's revision in their headers (etcd fills them); a merged response
// takes its first part's, or the txn's when no part was read.
func finish(resp *pb.TxnResponse, plan *txnPlan, out *Outcome) {
	plans := plan.failure
	if resp.Succeeded {
		plans = plan.success
	}
	resp.Responses = resp.Responses[:min(len(plans), len(resp.Responses))]
	for i, p := range plans {
		if i >= len(resp.Responses) {
			break
		}
		ro := resp.Responses[i]
		if p.detach != NoLease {
			out.Detached = append(out.Detached, Change{Lease: p.detach, Key: string(p.key)})
		}
		if p.attach != NoLease {
			out.Attached = append(out.Attached, Change{Lease: p.attach, Key: string(p.key)})
		}
		switch {
		case p.splitRange != nil:
			merged := MergeRanges(p.splitRange, rangeParts(ro.GetResponseTxn()))
			if merged.Header == nil {
				merged.Header = &pb.ResponseHeader{Revision: out.Rev}
			}
			ro.Response = &pb.ResponseOp_ResponseRange{ResponseRange: merged}
		case p.splitDelete:
			merged := mergeDeletes(ro.GetResponseTxn())
			if merged.Header == nil {
				merged.Header = &pb.ResponseHeader{Revision: out.Rev}
			}
			ro.Response = &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: merged}
		case p.nested != nil && ro.GetResponseTxn() != nil:
			finish(ro.GetResponseTxn(), p.nested, out)
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
	out := &pb.DeleteRangeResponse{}
	for _, r := range t.GetResponses() {
		d := r.GetResponseDeleteRange()
		if out.Header == nil {
			out.Header = d.GetHeader()
		}
		out.Deleted += d.GetDeleted()
		out.PrevKvs = append(out.PrevKvs, d.GetPrevKvs()...)
	}
	return out
}

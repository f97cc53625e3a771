package lease

import (
	"errors"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

// ErrReserved is the answer to a client write into the reserved keyspace.
var ErrReserved = errors.New("lease: keys under the reserved prefix are herald's lease records")

// Resolver answers the planner's questions about virtual leases. The
// driver builds one per request from its own table, the fleet's index and,
// for leases neither knows yet, etcd (see LeasesIn).
type Resolver interface {
	// CarrierOf returns the carrier of virtual lease id; ok is false when id
	// is not a virtual lease (a Put with it goes upstream as it is, and etcd
	// judges it).
	CarrierOf(id ID) (carrier ID, ok bool)
	// AttachedTo returns the virtual lease key hangs on now, if any.
	AttachedTo(key []byte) (ID, bool)
	// IsCarrier reports whether id is one of the fleet's carriers.
	IsCarrier(id ID) bool
}

// ErrLeaseCompare refuses a txn compare of a key's lease that herald cannot
// check exactly: other than equality, against a virtual lease.
var ErrLeaseCompare = errors.New("lease: herald compares a key's lease with a virtual lease only for equality (=) and for one key, not a range")

// A client's Put, DeleteRange or Txn is rewritten into one upstream Txn when
// herald has something to add to it:
//
//   - a Put with a virtual lease goes up attached to the lease's carrier,
//     with the key's attachment record beside it, and the whole txn is
//     nested in one that compares the existence of the lease's record (the
//     lease is alive: its owner deletes the record first when it ends);
//   - a Put or single-key Delete of a key attached to a virtual lease
//     removes that attachment;
//   - a range (read or delete) that spans the reserved keyspace is split
//     into the parts around it, and the answer merged back;
//   - a write into the reserved keyspace is refused (ErrReserved).
//
// Everything herald adds goes into the same branch as the client's
// operation, after the client's own operations, so the transaction stays
// atomic and the client's responses keep their positions; Finish strips
// herald's own responses. A request with nothing to rewrite is forwarded as
// it came. The record compares cover the virtual leases of both branches
// (etcd checks only the executed branch's leases; a txn that names a dead
// virtual lease in the branch that does not run is refused by herald).

// TxnPlan is the rewrite of one client TxnRequest.
type TxnPlan struct {
	// Txn is what to send upstream; nil when nothing needs rewriting (send
	// the client's request as it is).
	Txn *pb.TxnRequest
	// guarded: the client's txn is nested under the record compares.
	guarded bool
	root    *txnPlan
}

// txnPlan says what herald did to each operation of one TxnRequest.
type txnPlan struct {
	success, failure []opPlan
}

// opPlan says what herald did to one client operation.
type opPlan struct {
	// A Put with a virtual lease: key attached to lease.
	attach ID
	// A write to a key that was attached to detach: the attachment goes.
	detach ID
	key    []byte
	// A range split around the reserved keyspace: the client's request (a
	// read), or that it was a delete.
	splitRange  *pb.RangeRequest
	splitDelete bool
	// A nested Txn.
	nested *txnPlan
}

// LeasesIn lists the distinct leases that r's Puts and lease compares
// name, in any branch and at any depth: the driver resolves the ones it
// does not know before planning.
func LeasesIn(r *pb.TxnRequest) []ID {
	var ids []ID
	add := func(id ID) {
		if id != NoLease && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	WalkTxn(r, func(c *pb.Compare) {
		if c.Target == pb.Compare_LEASE {
			add(ID(c.GetLease()))
		}
	}, func(put *pb.PutRequest) {
		if !put.IgnoreLease {
			add(ID(put.Lease))
		}
	})
	return ids
}

// WalkTxn calls compare (if not nil) for each compare and put for each Put
// of r and of every txn nested in it, in any branch and at any depth, in
// the order they stand: a txn's compares, then its operations in turn.
func WalkTxn(r *pb.TxnRequest, compare func(*pb.Compare), put func(*pb.PutRequest)) {
	if compare != nil {
		for _, c := range r.Compare {
			compare(c)
		}
	}
	for _, op := range slices.Concat(r.Success, r.Failure) {
		switch u := op.Request.(type) {
		case *pb.RequestOp_RequestPut:
			put(u.RequestPut)
		case *pb.RequestOp_RequestTxn:
			WalkTxn(u.RequestTxn, compare, put)
		}
	}
}

// planner carries one planning pass.
type planner struct {
	ks      Keyspace
	offload bool
	res     Resolver
	changed bool
	records []ID // virtual leases whose record the txn must compare
}

// PlanTxn plans the upstream request for client txn r. offload says whether
// virtual leases apply to this client (no auth token, offloading on);
// without it only the reserved keyspace is protected.
func (k Keyspace) PlanTxn(r *pb.TxnRequest, offload bool, res Resolver) (*TxnPlan, error) {
	p := &planner{ks: k, offload: offload, res: res}
	out := proto.Clone(r).(*pb.TxnRequest)
	root, err := p.txn(out)
	if err != nil {
		return nil, err
	}
	if !p.changed {
		return &TxnPlan{root: root}, nil
	}
	plan := &TxnPlan{Txn: out, root: root}
	if len(p.records) > 0 {
		guard := &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestTxn{RequestTxn: out}}}}
		for _, id := range p.records {
			guard.Compare = append(guard.Compare, Exists(k.RecordKey(id)))
		}
		plan.Txn, plan.guarded = guard, true
	}
	return plan, nil
}

func (p *planner) txn(r *pb.TxnRequest) (*txnPlan, error) {
	tp := &txnPlan{}
	var err error
	if r.Compare, err = p.compares(r.Compare); err != nil {
		return nil, err
	}
	if r.Success, tp.success, err = p.ops(r.Success); err != nil {
		return nil, err
	}
	if r.Failure, tp.failure, err = p.ops(r.Failure); err != nil {
		return nil, err
	}
	return tp, nil
}

// ops rewrites one branch; the operations herald adds are appended.
func (p *planner) ops(ops []*pb.RequestOp) ([]*pb.RequestOp, []opPlan, error) {
	plans := make([]opPlan, len(ops))
	var extra []*pb.RequestOp
	for i, op := range ops {
		pl := &plans[i]
		switch u := op.Request.(type) {
		case *pb.RequestOp_RequestPut:
			more, err := p.put(u.RequestPut, pl)
			if err != nil {
				return nil, nil, err
			}
			extra = append(extra, more...)
		case *pb.RequestOp_RequestDeleteRange:
			del := u.RequestDeleteRange
			sp := Span{Key: del.Key, End: del.RangeEnd}
			if p.ks.Overlaps(sp) {
				parts := p.ks.Around(sp)
				if len(parts) == 0 {
					return nil, nil, ErrReserved
				}
				pl.splitDelete = true
				op.Request = &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: splitDeletes(del, parts)}}
				p.changed = true
				continue
			}
			if p.offload && sp.Single() {
				if prev, ok := p.res.AttachedTo(del.Key); ok {
					pl.detach, pl.key = prev, del.Key
					extra = append(extra, OpDelete(p.ks.AttachKey(prev, del.Key), nil))
					p.changed = true
				}
			}
		case *pb.RequestOp_RequestRange:
			rng := u.RequestRange
			sp := Span{Key: rng.Key, End: rng.RangeEnd}
			if p.ks.Overlaps(sp) {
				pl.splitRange = rng
				var sub []*pb.RequestOp
				for _, part := range p.ks.Around(sp) {
					sub = append(sub, &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: PartRequest(rng, part)}})
				}
				op.Request = &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: sub}}
				p.changed = true
			}
		case *pb.RequestOp_RequestTxn:
			nested, err := p.txn(u.RequestTxn)
			if err != nil {
				return nil, nil, err
			}
			pl.nested = nested
		}
	}
	return append(ops, extra...), plans, nil
}

// put rewrites one Put and returns the operations to add after the branch.
func (p *planner) put(put *pb.PutRequest, pl *opPlan) ([]*pb.RequestOp, error) {
	if p.ks.Contains(put.Key) {
		return nil, ErrReserved
	}
	if !p.offload {
		return nil, nil
	}
	var extra []*pb.RequestOp
	prev, attached := p.res.AttachedTo(put.Key)
	if put.IgnoreLease {
		// The key keeps its lease: refresh its attachment's revision, so
		// that the guarded delete at the lease's end still matches it.
		if attached {
			if c, ok := p.res.CarrierOf(prev); ok {
				pl.attach, pl.key = prev, put.Key
				extra = append(extra, OpPut(p.ks.AttachKey(prev, put.Key), nil, c))
				p.require(prev)
			}
		}
		return extra, nil
	}
	id := ID(put.Lease)
	if c, ok := p.res.CarrierOf(id); ok && id != NoLease {
		pl.attach, pl.key = id, put.Key
		put.Lease = int64(c)
		extra = append(extra, OpPut(p.ks.AttachKey(id, put.Key), nil, c))
		p.require(id)
	}
	if attached && prev != pl.attach {
		pl.detach, pl.key = prev, put.Key
		extra = append(extra, OpDelete(p.ks.AttachKey(prev, put.Key), nil))
		p.changed = true
	}
	return extra, nil
}

// require adds id's record to the compares.
func (p *planner) require(id ID) {
	p.changed = true
	if !slices.Contains(p.records, id) {
		p.records = append(p.records, id)
	}
}

func splitDeletes(del *pb.DeleteRangeRequest, parts []Span) []*pb.RequestOp {
	ops := make([]*pb.RequestOp, 0, len(parts))
	for _, part := range parts {
		ops = append(ops, &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{
			Key: part.Key, RangeEnd: part.End, PrevKv: del.PrevKv,
		}}})
	}
	return ops
}

// compares rewrites a txn's compares of a key's lease that name a virtual
// lease or a carrier, which etcd would judge against the carrier the key
// hangs on upstream:
//
//   - lease(k) = V, V virtual on carrier C: lease(k) = C and V's attachment
//     of k exists;
//   - lease(k) = C, C a carrier: never true (no client key has a carrier for
//     lease), and lease(k) != C always true;
//   - any other comparison with a virtual lease: ErrLeaseCompare.
//
// Compares with other values (0, a lease granted at etcd) mean the same
// upstream and stay.
func (p *planner) compares(cmps []*pb.Compare) ([]*pb.Compare, error) {
	if !p.offload {
		return cmps, nil
	}
	var out []*pb.Compare
	for i, c := range cmps {
		if c.Target != pb.Compare_LEASE || c.GetLease() == 0 {
			if out != nil {
				out = append(out, c)
			}
			continue
		}
		v := ID(c.GetLease())
		carrier, virtual := p.res.CarrierOf(v)
		isCarrier := !virtual && p.res.IsCarrier(v)
		if !virtual && !isCarrier {
			if out != nil {
				out = append(out, c)
			}
			continue
		}
		if len(c.RangeEnd) > 0 {
			return nil, ErrLeaseCompare // over a range: attachments are per key
		}
		if out == nil {
			out = slices.Clone(cmps[:i])
		}
		p.changed = true
		switch {
		case virtual && c.Result == pb.Compare_EQUAL:
			out = append(out,
				&pb.Compare{Key: c.Key, RangeEnd: c.RangeEnd, Target: pb.Compare_LEASE, Result: pb.Compare_EQUAL,
					TargetUnion: &pb.Compare_Lease{Lease: int64(carrier)}},
				Exists(p.ks.AttachKey(v, c.Key)))
		case isCarrier && c.Result == pb.Compare_EQUAL:
			out = append(out, never(c.Key))
		case isCarrier && c.Result == pb.Compare_NOT_EQUAL:
			// Always true: nothing to compare.
		default:
			return nil, ErrLeaseCompare
		}
	}
	if out == nil {
		return cmps, nil
	}
	return out, nil
}

// never is a compare that no key satisfies (a version below zero).
func never(key []byte) *pb.Compare {
	return &pb.Compare{Key: key, Target: pb.Compare_VERSION, Result: pb.Compare_LESS,
		TargetUnion: &pb.Compare_Version{Version: 0}}
}

package offload

import (
	"context"
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/lease"
)

// resolver is the lease.Resolver of one request: this herald's table, the
// fleet's index, and etcd for virtual leases neither knows yet.
type resolver struct {
	o *Offloader
	// carriers holds the leases the request's Puts name, resolved before
	// planning (some needed etcd); other leases (those keys hang on) come
	// from the table and the index.
	carriers map[lease.ID]lease.ID
}

func (r *resolver) CarrierOf(id lease.ID) (lease.ID, bool) {
	if c, ok := r.carriers[id]; ok {
		return c, c != lease.NoLease
	}
	return r.o.knownCarrierOf(id)
}

func (r *resolver) AttachedTo(key []byte) (lease.ID, bool) { return r.o.attachedTo(key) }

func (r *resolver) IsCarrier(id lease.ID) bool {
	internal := r.o.internalPrefix()
	if lease.IsInternal(id, internal) {
		return true
	}
	var ok bool
	r.o.idx.read(func(ix *lease.Index) { _, ok = ix.Carrier(id) })
	return ok
}

// PlanTxn plans the upstream request for a client's txn (a Put or a
// DeleteRange comes as a one-op txn). offload says whether virtual leases
// apply to this client.
func (o *Offloader) PlanTxn(ctx context.Context, r *pb.TxnRequest, offload bool) (*lease.TxnPlan, error) {
	res := &resolver{o: o, carriers: map[lease.ID]lease.ID{}}
	if offload {
		for _, id := range lease.LeasesIn(r) {
			c, ok, err := o.carrierOf(ctx, id)
			if err != nil {
				return nil, err
			}
			if !ok {
				c = lease.NoLease // not virtual: no fallback either
			}
			res.carriers[id] = c
		}
	}
	return o.ks.PlanTxn(r, offload, res)
}

// knownCarrierOf returns the carrier of virtual lease id as this herald's
// table or the index knows it, without asking etcd.
func (o *Offloader) knownCarrierOf(id lease.ID) (lease.ID, bool) {
	o.mu.Lock()
	c, held := o.table.CarrierOf(id)
	o.mu.Unlock()
	if held {
		return c, true
	}
	var rec lease.LeaseRecord
	var known bool
	o.idx.read(func(ix *lease.Index) { rec, known = ix.Lease(id) })
	return rec.Carrier, known
}

// carrierOf returns the carrier of virtual lease id, looking in the table,
// then the index, then etcd; ok is false for a lease that is not virtual.
func (o *Offloader) carrierOf(ctx context.Context, id lease.ID) (lease.ID, bool, error) {
	if c, ok := o.knownCarrierOf(id); ok {
		return c, true, nil
	}
	internal := o.internalPrefix()
	if lease.IsInternal(id, internal) || o.upstreamLeases.has(id) {
		return lease.NoLease, false, nil
	}
	resp, err := o.up.Range(ctx, &pb.RangeRequest{Key: o.ks.RecordKey(id)})
	if err != nil {
		return lease.NoLease, false, err
	}
	o.NoteHeader(resp.Header)
	if len(resp.Kvs) == 0 {
		o.upstreamLeases.add(id)
		return lease.NoLease, false, nil
	}
	return lease.ID(resp.Kvs[0].Lease), true, nil
}

// attachedTo is the virtual lease key hangs on: the newer of this herald's
// table (its own writes, at once) and the index (everyone's).
func (o *Offloader) attachedTo(key []byte) (lease.ID, bool) {
	o.mu.Lock()
	id, rev := o.table.LeaseOf(string(key))
	o.mu.Unlock()
	var a lease.Attachment
	var ok bool
	o.idx.read(func(ix *lease.Index) { a, ok = ix.AttachedTo(string(key)) })
	if ok && a.Rev > rev {
		return a.Lease, true
	}
	return id, id != lease.NoLease
}

// FinishTxn turns the upstream answer into the client's, applies to this
// herald's table what the txn did to the leases it holds, and shows
// virtual leases instead of carriers.
func (o *Offloader) FinishTxn(ctx context.Context, plan *lease.TxnPlan, resp *pb.TxnResponse) (*pb.TxnResponse, error) {
	o.NoteHeader(resp.Header)
	out, outcome, err := plan.Finish(resp)
	if errors.Is(err, lease.ErrLeaseNotFound) {
		return nil, rpctypes.ErrGRPCLeaseNotFound
	}
	if err != nil {
		return nil, err
	}
	o.applyOutcome(outcome)
	o.TranslateTxn(ctx, out)
	return out, nil
}

// applyOutcome records the attachments a txn made to leases this herald
// holds. A key attached to a lease that ended meanwhile (the Put raced with
// its expiry or revoke) goes too.
func (o *Offloader) applyOutcome(out lease.Outcome) {
	if len(out.Attached) == 0 && len(out.Detached) == 0 {
		return
	}
	var late []lease.Expired
	now := o.now()
	o.mu.Lock()
	for _, d := range out.Detached {
		if id, _ := o.table.LeaseOf(d.Key); id == d.Lease {
			o.table.Detach(d.Key, out.Rev)
		}
	}
	for _, a := range out.Attached {
		c, held := o.table.CarrierOf(a.Lease)
		if !held {
			continue // another herald's lease: it learns from the index
		}
		if _, err := o.table.Attach(a.Lease, a.Key, out.Rev, now); err != nil && o.own.Owns(c) {
			late = append(late, lease.Expired{ID: a.Lease, Carrier: c, Keys: []lease.AttachedKey{{Key: a.Key, Rev: out.Rev}}})
		}
	}
	o.mu.Unlock()
	if len(late) > 0 {
		o.spawn(func(ctx context.Context) { o.deleteUntilDone(ctx, late) })
	}
}

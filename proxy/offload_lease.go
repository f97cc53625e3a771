package proxy

import (
	"context"
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/lease"
)

// grantAttempts bounds how often Grant draws a new ID after a collision
// with a lease record another herald wrote.
const grantAttempts = 3

// grant creates a virtual lease in the table. Like etcd's LeaseGrant it
// changes no key: the lease's record is written upstream with its first
// key, in the same transaction. A linearizable read of the record key checks
// that no herald holds the ID (IDs carry a per-herald prefix, so this only
// catches the improbable) and gives the answer etcd's current header. A
// client-chosen ID is refused as etcd refuses it when a lease, virtual or
// granted at etcd directly, already has it.
func (o *offloader) grant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	for attempt := 0; ; attempt++ {
		o.mu.Lock()
		id, ttl, err := o.table.Grant(lease.ID(r.ID), r.TTL, time.Now())
		if err == nil {
			o.pickCarrierLocked(id)
		}
		o.mu.Unlock()
		if err != nil {
			return nil, leaseError(err)
		}
		undo := func() {
			o.mu.Lock()
			o.table.Revoke(id)
			delete(o.carrierOf, id)
			o.mu.Unlock()
		}
		if r.ID != 0 {
			at, err := o.ls.LeaseTimeToLive(internalCtx(ctx), &pb.LeaseTimeToLiveRequest{ID: r.ID})
			if err != nil {
				undo()
				return nil, err
			}
			if at.TTL != -1 {
				undo()
				return nil, rpctypes.ErrGRPCLeaseExist
			}
		}
		resp, err := o.kv.Range(internalCtx(ctx), &pb.RangeRequest{Key: o.recordKey(id), CountOnly: true})
		if err != nil {
			undo()
			return nil, err
		}
		o.noteHeader(resp.Header)
		if resp.Count > 0 || o.fleet.hasLease(id) {
			undo()
			if r.ID != 0 || attempt+1 == grantAttempts {
				return nil, rpctypes.ErrGRPCLeaseExist
			}
			continue
		}
		if o.journal != nil {
			if err := o.journal.grant(lease.Record{ID: id, TTL: ttl, Owner: o.name}); err != nil {
				undo()
				o.log.Error("cannot journal a lease grant", "err", err)
				return nil, rpctypes.ErrGRPCNoSpace
			}
		}
		virtualLeases.Inc()
		return &pb.LeaseGrantResponse{Header: resp.Header, ID: int64(id), TTL: ttl}, nil
	}
}

// recordOp is the Put of a lease's record, or nil when the record is
// already upstream.
func (o *offloader) recordOp(id lease.ID, carrier int64) *pb.RequestOp {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.recorded[id] {
		return nil
	}
	rec, err := o.table.Record(id)
	if err != nil {
		return nil // gone meanwhile: attachAfter deletes what the Put wrote
	}
	return opPut(o.recordKey(id), rec.Encode(), carrier)
}

// leaseError maps the table's errors to etcd's.
func leaseError(err error) error {
	switch {
	case errors.Is(err, lease.ErrLeaseNotFound):
		return rpctypes.ErrGRPCLeaseNotFound
	case errors.Is(err, lease.ErrLeaseExists):
		return rpctypes.ErrGRPCLeaseExist
	case errors.Is(err, lease.ErrLeaseTTLTooLarge):
		return rpctypes.ErrGRPCLeaseTTLTooLarge
	}
	return err
}

// revoke ends a virtual lease now and deletes its keys upstream before
// answering, as etcd's revoke does.
func (o *offloader) revoke(ctx context.Context, id lease.ID) (*pb.LeaseRevokeResponse, error) {
	o.mu.Lock()
	keys, err := o.table.Revoke(id)
	var ds []doomed
	if err == nil {
		ds = o.doomedLocked([]lease.Expired{{ID: id, Keys: keys}})
	}
	o.mu.Unlock()
	if err != nil {
		return nil, leaseError(err)
	}
	virtualLeases.Dec()
	h, err := o.deleteUpstream(ctx, ds)
	if err != nil {
		// The lease is gone from the table: finish the deletes in the
		// background, and tell the client what went wrong.
		go o.deleteUntilDone(context.WithoutCancel(ctx), ds)
		return nil, err
	}
	return &pb.LeaseRevokeResponse{Header: h}, nil
}

// keepAlive answers one keepalive for a virtual lease of this herald; ok is
// false when id is not one (the caller forwards it upstream).
func (o *offloader) keepAlive(id int64) (resp *pb.LeaseKeepAliveResponse, ok bool) {
	// Alive is judged on the intake's clock (a keepalive read late may
	// still be in time); the new deadline counts from now, when it is read,
	// never from earlier.
	mark, wall := o.now(), time.Now()
	o.mu.Lock()
	ttl, err := o.table.KeepAlive(lease.ID(id), mark)
	if err == nil && wall.After(mark) {
		_, _ = o.table.KeepAlive(lease.ID(id), wall)
	}
	o.mu.Unlock()
	if err != nil {
		return nil, false
	}
	keepalivesAbsorbed.Inc()
	return &pb.LeaseKeepAliveResponse{Header: o.localHeader(), ID: id, TTL: ttl}, true
}

// timeToLive answers for a virtual lease of this herald; ok is false when
// id is not one.
func (o *offloader) timeToLive(r *pb.LeaseTimeToLiveRequest) (resp *pb.LeaseTimeToLiveResponse, ok bool) {
	o.mu.Lock()
	st := o.table.TimeToLive(lease.ID(r.ID), o.now(), r.Keys)
	o.mu.Unlock()
	if st.TTL < 0 {
		return nil, false
	}
	resp = &pb.LeaseTimeToLiveResponse{Header: o.localHeader(), ID: r.ID, TTL: st.TTL, GrantedTTL: st.GrantedTTL}
	for _, k := range st.Keys {
		resp.Keys = append(resp.Keys, []byte(k))
	}
	return resp, true
}

// leases lists etcd's leases without the fleet's carriers, plus every
// herald's virtual leases.
func (o *offloader) leases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	resp, err := o.ls.LeaseLeases(outgoing(ctx), r)
	if err != nil {
		return nil, err
	}
	carriers := o.fleet.allCarriers()
	o.mu.Lock()
	for _, c := range o.carriers {
		carriers[c] = true
	}
	ids := o.table.Leases(o.now())
	o.mu.Unlock()
	ids = append(ids, o.fleet.allLeases()...)

	out := resp.Leases[:0]
	for _, l := range resp.Leases {
		if !carriers[l.ID] {
			out = append(out, l)
		}
	}
	seen := map[int64]bool{}
	for _, l := range out {
		seen[l.ID] = true
	}
	for _, id := range ids {
		if !seen[int64(id)] {
			seen[int64(id)] = true
			out = append(out, &pb.LeaseStatus{ID: int64(id)})
		}
	}
	resp.Leases = out
	return resp, nil
}

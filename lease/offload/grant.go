package offload

import (
	"context"
	"errors"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/lease"
)

// grantAttempts bounds how often Grant draws a new ID after a collision
// with a record another herald wrote, or moves to another carrier.
const grantAttempts = 3

// prepare gives this herald a session and fresh carriers of TTL class
// class, on the first grant that needs them (a herald that grants nothing
// writes nothing upstream).
func (o *Offloader) prepare(ctx context.Context, class int64) error {
	if err := o.setup.lock(ctx); err != nil {
		return err
	}
	defer o.setup.unlock()
	if err := o.ensureSession(ctx); err != nil {
		return err
	}
	return o.ensureCarriers(ctx, class)
}

// Grant creates a virtual lease owned by this herald. Its record is
// written before the answer, fenced on its carrier and created only if
// absent (fleet-wide unique IDs), so the lease survives this herald: a
// successor adopts it from the record. A client-chosen ID is refused, as
// etcd refuses it, when a lease (virtual, or granted at etcd directly)
// already has it.
func (o *Offloader) Grant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	o.mu.Lock()
	granted, err := o.table.GrantedTTL(r.TTL)
	o.mu.Unlock()
	if err != nil {
		return nil, LeaseError(err)
	}
	class := lease.CarrierTTLFor(granted, o.opts.CarrierTTL)
	for attempt := 0; attempt < grantAttempts; attempt++ {
		if err := o.prepare(ctx, class); err != nil {
			return nil, err
		}
		o.mu.Lock()
		c, ok := o.pickCarrierLocked(class)
		if !ok {
			o.mu.Unlock()
			return nil, rpctypes.ErrGRPCTimeoutDueToConnectionLost
		}
		id, ttl, err := o.table.Grant(lease.ID(r.ID), r.TTL, c, o.now())
		var rec lease.Record
		if err == nil {
			rec, _ = o.table.Record(id)
		}
		fence := o.own.Fence(o.ks, c)
		o.mu.Unlock()
		if err != nil {
			return nil, LeaseError(err)
		}
		resp, err := o.recordGrant(ctx, r.ID, rec, c, fence)
		if err == nil {
			return &pb.LeaseGrantResponse{Header: resp.Header, ID: int64(id), TTL: ttl}, nil
		}
		o.mu.Lock()
		o.table.Revoke(id)
		if err == errFenced {
			o.loseCarrierLocked(c, "a grant found its record changed")
		}
		o.mu.Unlock()
		switch {
		case err == errFenced:
		case err == errCollision && r.ID == 0:
		case err == errCollision:
			return nil, rpctypes.ErrGRPCLeaseExist
		default:
			return nil, err
		}
	}
	return nil, rpctypes.ErrGRPCLeaseExist
}

var (
	errFenced    = fmt.Errorf("offload: the carrier's record changed")
	errCollision = fmt.Errorf("offload: the lease ID is taken")
)

// recordGrant writes the new lease's record, if no lease record and no
// lease at etcd has its ID.
func (o *Offloader) recordGrant(ctx context.Context, chosen int64, rec lease.Record, c lease.ID, fence *pb.Compare) (*pb.TxnResponse, error) {
	if chosen != 0 {
		at, err := o.up.TimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: chosen})
		if err != nil {
			return nil, err
		}
		if at.TTL != -1 {
			return nil, errCollision
		}
	}
	key := o.ks.RecordKey(rec.ID)
	resp, err := o.up.Txn(ctx, &pb.TxnRequest{
		Compare: []*pb.Compare{fence, lease.Absent(key)},
		Success: []*pb.RequestOp{lease.OpPut(key, rec.Encode(), c)},
		Failure: []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: key, CountOnly: true}}}},
	})
	if errors.Is(rpctypes.Error(err), rpctypes.ErrLeaseNotFound) {
		return nil, errFenced // the carrier expired at etcd: it is not ours to use
	}
	if err != nil {
		return nil, err
	}
	o.NoteHeader(resp.Header)
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().GetCount() > 0 {
			return nil, errCollision
		}
		return nil, errFenced
	}
	return resp, nil
}

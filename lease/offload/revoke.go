package offload

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// Revoke ends a lease this herald holds and deletes its keys upstream
// before answering, as etcd's revoke does. A lease that fits in one
// transaction is deleted in one, so the revoke moves etcd's revision once.
// p is the client's Permit: write permission on every key on the lease, as
// etcd asks.
func (o *Offloader) Revoke(ctx context.Context, id int64, p *Permit) (*pb.LeaseRevokeResponse, Verdict, error) {
	if v, err := o.permitRevoke(ctx, lease.ID(id), p); v != Answered || err != nil {
		return nil, v, err
	}
	o.mu.Lock()
	_, v := o.vouchLocked(lease.ID(id), o.wall())
	if v != Answered {
		o.mu.Unlock()
		return nil, v, nil
	}
	exp, err := o.table.Revoke(lease.ID(id))
	if err != nil {
		o.mu.Unlock()
		return nil, Answered, LeaseError(err)
	}
	doomed := []lease.Expired{exp}
	o.markEndingLocked(doomed)
	o.mu.Unlock()
	hdr, fenced, err := o.deleteUpstream(ctx, doomed)
	switch {
	case err != nil:
		// The lease is gone from the table: finish the deletes in the
		// background, and tell the client what went wrong.
		o.spawn(func(ctx context.Context) {
			defer o.endingDone(doomed)
			o.deleteUntilDone(ctx, doomed)
		})
		return nil, Answered, err
	case fenced:
		// Another herald owns the carrier now, and the lease with it.
		o.endingDone(doomed)
		return nil, NotHeld, nil
	}
	o.endingDone(doomed)
	return &pb.LeaseRevokeResponse{Header: hdr}, Answered, nil
}

// permitRevoke asks p for write permission on the keys of lease id, if
// this herald holds it (another verdict: nothing was asked).
func (o *Offloader) permitRevoke(ctx context.Context, id lease.ID, p *Permit) (Verdict, error) {
	if p == nil {
		return Answered, nil
	}
	o.mu.Lock()
	c, v := o.vouchLocked(id, o.wall())
	var st lease.TTLStatus
	if v == Answered {
		st = o.table.TimeToLive(id, o.now(), true)
	}
	o.mu.Unlock()
	if v != Answered {
		return v, nil
	}
	var keys [][]byte
	if st.TTL >= 0 {
		var err error
		if keys, _, err = o.keysOn(ctx, id, c, st.Keys, nil); err != nil {
			return Answered, err
		}
	}
	return Answered, p.Write(keys)
}

func revokeReq(id lease.ID) *pb.LeaseRevokeRequest { return &pb.LeaseRevokeRequest{ID: int64(id)} }

package offload

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// Revoke ends a lease this herald holds and deletes its keys upstream
// before answering, as etcd's revoke does. A lease that fits in one
// transaction is deleted in one, so the revoke moves etcd's revision once.
func (o *Offloader) Revoke(ctx context.Context, id int64) (*pb.LeaseRevokeResponse, Verdict, error) {
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

func revokeReq(id lease.ID) *pb.LeaseRevokeRequest { return &pb.LeaseRevokeRequest{ID: int64(id)} }

package offload

import (
	"context"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// retireAfter is how long an adopted carrier must have held nothing before
// it is retired.
const retireAfter = 5 * time.Second

// retireEmpty revokes the carriers this herald adopted from others once no
// lease hangs on them any more, so that a herald that took over many peers
// does not keep their carriers alive for ever. A carrier's record goes
// first, fenced (nobody can claim or use it after that), then the lease.
// Called from the takeover loop, under setup.
func (o *Offloader) retireEmpty(ctx context.Context) {
	now := o.wall()
	o.mu.Lock()
	var empty []lease.ID
	for _, c := range o.own.Carriers() {
		if o.isMineLocked(c) || o.table.OnCarrier(c) > 0 {
			delete(o.emptySince, c)
			continue
		}
		since, ok := o.emptySince[c]
		if !ok {
			o.emptySince[c] = now
			continue
		}
		if now.Sub(since) >= retireAfter {
			empty = append(empty, c)
		}
	}
	o.mu.Unlock()
	for _, c := range empty {
		busy := false
		o.idx.read(func(ix *lease.Index) { busy = len(ix.LeasesOn(c)) > 0 || len(ix.AttachmentsOn(c)) > 0 })
		if busy {
			continue
		}
		o.mu.Lock()
		fence := o.own.Fence(o.ks, c)
		if fence == nil {
			o.mu.Unlock()
			continue
		}
		o.retiring[c] = true
		o.mu.Unlock()
		resp, err := o.up.Txn(ctx, &pb.TxnRequest{Compare: []*pb.Compare{fence}, Success: []*pb.RequestOp{lease.OpDelete(o.ks.CarrierKey(c), nil)}})
		o.mu.Lock()
		delete(o.retiring, c)
		if err == nil {
			o.own.Release(c)
			delete(o.emptySince, c)
		}
		o.mu.Unlock()
		if err != nil {
			o.log.Warn("retiring an empty carrier failed", "carrier", fmt.Sprintf("%x", uint64(c)), "err", err)
			continue
		}
		if resp.Succeeded {
			o.revokeQuietly(c)
			o.log.Info("retired an empty adopted carrier", "carrier", fmt.Sprintf("%x", uint64(c)))
		}
	}
}

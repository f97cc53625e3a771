package proxy

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// doomed is a virtual lease whose keys must go upstream.
type doomed struct {
	id      lease.ID
	carrier int64
	keys    []string
}

// expireLoop collects expired virtual leases as soon as the table's next
// deadline passes (checking at least every ExpiryInterval) and deletes their
// keys upstream. Leases that expire together are deleted together, in as
// few transactions as etcd's op limit allows.
func (o *offloader) expireLoop(ctx context.Context) {
	timer := time.NewTimer(o.opts.ExpiryInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		o.intake.advance()
		o.mu.Lock()
		ds := o.doomedLocked(o.table.Tick(o.now()))
		next, ok := o.table.NextExpiry()
		o.mu.Unlock()
		if len(ds) > 0 {
			expiredTotal.Add(float64(len(ds)))
			o.deleteUntilDone(ctx, ds)
		}
		wait := o.opts.ExpiryInterval
		if ok {
			// The intake clock trails the wall clock a little; a deadline
			// just passed is checked again a millisecond later.
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		timer.Reset(wait)
	}
}

// doomedLocked pairs expired or revoked leases with their carriers and
// forgets them.
func (o *offloader) doomedLocked(exp []lease.Expired) []doomed {
	ds := make([]doomed, 0, len(exp))
	ids := make([]lease.ID, 0, len(exp))
	for _, e := range exp {
		ds = append(ds, doomed{id: e.ID, carrier: o.carrierOf[e.ID], keys: e.Keys})
		delete(o.carrierOf, e.ID)
		delete(o.recorded, e.ID)
		ids = append(ids, e.ID)
	}
	if o.journal != nil {
		o.journal.end(ids...)
	}
	return ds
}

// deleteUntilDone retries deleteUpstream until it succeeds or ctx ends: a
// lease that expired must lose its keys even across an etcd leader change.
func (o *offloader) deleteUntilDone(ctx context.Context, ds []doomed) {
	backoff := 50 * time.Millisecond
	for {
		_, err := o.deleteUpstream(ctx, ds)
		if err == nil || ctx.Err() != nil {
			return
		}
		o.log.Warn("deleting expired leases' keys failed; retrying", "leases", len(ds), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// deleteUpstream removes doomed leases upstream: their records and their
// keys with their attachments, each key guarded by a compare on its lease so
// that a key rewritten since by anyone else stays. A lease that fits in one
// transaction goes in one, so a revoke bumps etcd's revision once, as etcd's
// own does; a larger set is cut into transactions with all records first,
// so a restart after a partial delete finds the leftover attachments without
// a record and deletes them. Deleting what is already gone is harmless (and
// changes no revision), so a retry after a failure is safe. It returns the
// header of the last transaction.
func (o *offloader) deleteUpstream(ctx context.Context, ds []doomed) (*pb.ResponseHeader, error) {
	var ops []*pb.RequestOp
	for _, d := range ds {
		ops = append(ops, opDelete(o.recordKey(d.id), nil))
	}
	for _, d := range ds {
		for _, k := range d.keys {
			key := []byte(k)
			ops = append(ops,
				&pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{
					Compare: []*pb.Compare{{Key: key, Target: pb.Compare_LEASE, Result: pb.Compare_EQUAL,
						TargetUnion: &pb.Compare_Lease{Lease: d.carrier}}},
					Success: []*pb.RequestOp{opDelete(key, nil)},
				}}},
				opDelete(o.attachKey(d.id, key), nil))
		}
	}
	var last *pb.ResponseHeader
	for len(ops) > 0 {
		n := min(len(ops), o.opts.DeleteBatch)
		resp, err := o.kv.Txn(internalCtx(ctx), &pb.TxnRequest{Success: ops[:n]})
		if err != nil {
			return nil, err
		}
		deleteTxnsTotal.Inc()
		last = resp.Header
		o.noteHeader(resp.Header)
		ops = ops[n:]
	}
	return last, nil
}

func opDelete(key, end []byte) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: key, RangeEnd: end}}}
}

func opPut(key, value []byte, leaseID int64) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: key, Value: value, Lease: leaseID}}}
}

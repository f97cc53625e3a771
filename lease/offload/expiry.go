package offload

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/internal/backoff"
	"github.com/heraldproj/herald/lease"
)

// expireLoop collects expired virtual leases as soon as the table's next
// deadline passes (checking at least every ExpiryInterval) and deletes their
// keys upstream. Leases that expire together are deleted together, in as
// few transactions as etcd's op limit allows. Nothing expires while this
// herald's session is not confirmed: a herald that was paused must first
// learn whether it still owns its carriers (if it lost its session, its
// leases come back with a full TTL under the next claim).
func (o *Offloader) expireLoop(ctx context.Context) {
	wait := o.opts.ExpiryInterval
	for {
		fire, stop := o.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-fire:
		}
		o.intake.advance()
		var doomed []lease.Expired
		o.mu.Lock()
		if o.own.SessionValid(o.wall()) {
			doomed = o.table.Tick(o.now())
			o.markEndingLocked(doomed)
		}
		next, ok := o.table.NextExpiry()
		o.mu.Unlock()
		if len(doomed) > 0 {
			o.m.expired.Add(float64(len(doomed)))
			start := o.wall()
			o.deleteUntilDone(ctx, doomed)
			o.endingDone(doomed)
			o.log.Info("virtual leases expired; their keys are deleted", "leases", len(doomed),
				"keys", countKeys(doomed), "took", o.wall().Sub(start).Round(time.Millisecond))
		}
		wait = o.opts.ExpiryInterval
		if ok {
			// The intake clock trails the lease clock a little; a deadline
			// just passed is checked again a millisecond later.
			wait = min(wait, max(next.Sub(o.clock.Now()), time.Millisecond))
		}
	}
}

// deleteUntilDone retries deleteUpstream until it succeeds, the carriers
// are lost to another herald (who finishes the job), or ctx ends: a lease
// that ended must lose its keys even across an etcd leader change.
func (o *Offloader) deleteUntilDone(ctx context.Context, doomed []lease.Expired) {
	b := backoff.New(50*time.Millisecond, 2*time.Second)
	for {
		_, _, err := o.deleteUpstream(ctx, doomed)
		if err == nil || ctx.Err() != nil {
			return
		}
		o.log.Warn("deleting ended leases' keys failed; retrying", "leases", len(doomed), "err", err)
		if !b.Wait(ctx) {
			return
		}
	}
}

// deleteUpstream runs the delete plan of doomed leases (lease.DeleteTxns:
// records first, guarded keys, fenced per carrier). A transaction whose
// fence fails means another herald owns that carrier now: the carrier is
// given up and its remaining transactions skipped (fenced reports it).
// Deleting what is already gone changes nothing, so a retry is safe. It
// returns the header of the last transaction.
func (o *Offloader) deleteUpstream(ctx context.Context, doomed []lease.Expired) (hdr *pb.ResponseHeader, fenced bool, err error) {
	o.mu.Lock()
	fences := map[lease.ID]*pb.Compare{}
	for _, d := range doomed {
		fences[d.Carrier] = o.own.Fence(o.ks, d.Carrier)
	}
	o.mu.Unlock()
	var (
		mu     sync.Mutex
		lost   = map[lease.ID]bool{}
		spared []lease.Expired // keys whose guard failed: written since their attachment
	)
	run := func(ctx context.Context, dt lease.DeleteTxn) error {
		mu.Lock()
		skip := fences[dt.Carrier] == nil || lost[dt.Carrier]
		if skip {
			// Not (or no longer) this herald's carrier: not its to delete.
			fenced = true
		}
		mu.Unlock()
		if skip {
			return nil
		}
		resp, err := o.up.Txn(ctx, dt.Txn)
		if err != nil {
			return err
		}
		o.m.deleteTxns.Inc()
		o.NoteHeader(resp.Header)
		mu.Lock()
		defer mu.Unlock()
		if hdr == nil || resp.Header.GetRevision() > hdr.GetRevision() {
			hdr = resp.Header
		}
		if !resp.Succeeded {
			lost[dt.Carrier], fenced = true, true
			o.mu.Lock()
			if o.own.Owns(dt.Carrier) {
				o.loseCarrierLocked(dt.Carrier, fmt.Sprintf("a delete found its record changed (revision %d)", resp.Header.Revision))
			}
			o.mu.Unlock()
			return nil
		}
		for _, g := range dt.Guards {
			if g.Op < len(resp.Responses) && !resp.Responses[g.Op].GetResponseTxn().GetSucceeded() {
				spared = append(spared, lease.Expired{ID: g.Lease, Carrier: dt.Carrier, Keys: []lease.AttachedKey{g.Key}})
			}
		}
		return nil
	}
	// Two phases, each a few txns at a time: every record first, then the
	// keys (the crash ordering of lease.DeleteTxns). A rack's expiry is
	// dozens of txns; one after the other they would take etcd's round
	// trip each.
	txns := o.ks.DeleteTxns(doomed, func(c lease.ID) *pb.Compare { return fences[c] }, o.opts.MaxTxnOps)
	for _, records := range []bool{true, false} {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(deleteParallel)
		for _, dt := range txns {
			if dt.Records == records {
				g.Go(func() error { return run(gctx, dt) })
			}
		}
		if err := g.Wait(); err != nil {
			return nil, fenced, err
		}
	}
	if len(spared) > 0 {
		if err := o.deleteStillAttached(ctx, spared); err != nil {
			return hdr, fenced, err
		}
	}
	return hdr, fenced, nil
}

// deleteParallel is how many delete txns run at once.
const deleteParallel = 8

// deleteStillAttached looks again at keys that a guarded delete spared
// because they were written after their attachment. A key still on its
// carrier whose newest attachment up to that write is the ended lease's was
// rewritten keeping its lease (--ignore-lease, possibly at etcd directly),
// so it is the lease's and goes, guarded by the revision just read; a key
// moved to another lease, or off the carrier, stays.
func (o *Offloader) deleteStillAttached(ctx context.Context, spared []lease.Expired) error {
	ops := make([]*pb.RequestOp, 0, len(spared))
	for _, s := range spared {
		ops = append(ops, &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte(s.Keys[0].Key)}}})
	}
	var again []lease.Expired
	for start := 0; start < len(ops); start += o.opts.MaxTxnOps {
		end := min(start+o.opts.MaxTxnOps, len(ops))
		resp, err := o.up.Txn(ctx, &pb.TxnRequest{Success: ops[start:end]})
		if err != nil {
			return err
		}
		for i, r := range resp.Responses {
			s := spared[start+i]
			kvs := r.GetResponseRange().GetKvs()
			if len(kvs) != 1 || lease.ID(kvs[0].Lease) != s.Carrier {
				continue
			}
			o.WaitIndex(ctx, kvs[0].ModRevision, translateWait)
			var owner lease.ID
			o.idx.read(func(ix *lease.Index) { owner, _ = ix.VirtualLeaseOf(s.Keys[0].Key, kvs[0].ModRevision, s.Carrier) })
			if owner == s.ID {
				again = append(again, lease.Expired{ID: s.ID, Carrier: s.Carrier,
					Keys: []lease.AttachedKey{{Key: s.Keys[0].Key, Rev: kvs[0].ModRevision}}})
			}
		}
	}
	if len(again) == 0 {
		return nil
	}
	o.mu.Lock()
	fences := map[lease.ID]*pb.Compare{}
	for _, d := range again {
		fences[d.Carrier] = o.own.Fence(o.ks, d.Carrier)
	}
	o.mu.Unlock()
	for _, dt := range o.ks.DeleteTxns(again, func(c lease.ID) *pb.Compare { return fences[c] }, o.opts.MaxTxnOps) {
		if fences[dt.Carrier] == nil {
			continue
		}
		if _, err := o.up.Txn(ctx, dt.Txn); err != nil {
			return err
		}
		o.m.deleteTxns.Inc()
	}
	return nil
}

func countKeys(doomed []lease.Expired) int {
	n := 0
	for _, d := range doomed {
		n += len(d.Keys)
	}
	return n
}

package offload

import (
	"context"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/lease"
)

// index is this herald's copy of the fleet's lease index (lease.Index) and
// the lock around it.
type index struct {
	ks lease.Keyspace
	mu sync.RWMutex // guards ix; never held across I/O
	ix *lease.Index
}

func newIndex(ks lease.Keyspace) *index {
	return &index{ks: ks, ix: lease.NewIndex(ks, 0)}
}

func (x *index) rev() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ix.Rev()
}

// read runs f on the index under the read lock; f must not block.
func (x *index) read(f func(ix *lease.Index)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	f(x.ix)
}

// indexMoved reacts to the index having advanced with events (in
// revision order), or having been loaded from a snapshot (loaded): this
// herald's table follows what other heralds did to its leases, and waiters
// wake. Called by the index's sink, in revision order.
func (o *Offloader) indexMoved(events []*mvccpb.Event, loaded bool) {
	if loaded {
		o.reconcileOwned()
		o.kickTakeover()
	}
	if len(events) > 0 {
		o.ownerEvents(events)
	}
	o.changed.fire()
}

// ownerEvents keeps this herald's table in step with what other heralds do
// to its leases: keys they attach and detach, carriers taken over, session
// changes that may leave carriers to adopt.
func (o *Offloader) ownerEvents(events []*mvccpb.Event) {
	var cleanup []lease.Expired
	takeover := false
	now := o.now()
	o.mu.Lock()
	for _, ev := range events {
		p, ok := o.ks.Parse(ev.Kv.Key)
		if !ok {
			continue
		}
		deleted := ev.Type == mvccpb.DELETE
		switch p.Kind {
		case lease.KindSession:
			takeover = true
		case lease.KindCarrier:
			takeover = true
			if !o.own.Owns(p.ID) {
				continue
			}
			if deleted {
				if !o.retiring[p.ID] { // else this herald's own retirement: retireEmpty releases it
					o.loseCarrierLocked(p.ID, "its record is gone (the carrier expired at etcd)")
				}
				continue
			}
			if rec, err := lease.DecodeCarrierRecord(ev.Kv.Value); err != nil || rec.Owner != o.opts.Name || rec.Session != o.own.Session() {
				o.loseCarrierLocked(p.ID, "another herald took it over")
			}
		case lease.KindAttachment:
			if deleted {
				if l, _ := o.table.LeaseOf(p.Key); l == p.ID {
					o.table.Detach(p.Key, ev.Kv.ModRevision)
				}
				continue
			}
			if _, held := o.table.CarrierOf(p.ID); held {
				if _, err := o.table.Attach(p.ID, p.Key, ev.Kv.ModRevision, now); err == nil {
					continue
				}
			}
			// A key attached to a lease of a carrier this herald owns, but
			// the lease is not (or no longer) in the table: the lease has
			// ended (a carrier counts as owned only once its leases are in
			// the table, and a grant enters the table before its record is
			// written), and the key goes too, as etcd deletes a key put with
			// a lease that its revoke catches — with the record, if the
			// lease's own delete had not reached it yet.
			c := lease.ID(ev.Kv.Lease)
			if o.own.Owns(c) && !o.endingLocked(p.ID, p.Key, ev.Kv.ModRevision) {
				cleanup = append(cleanup, lease.Expired{ID: p.ID, Carrier: c,
					Keys: []lease.AttachedKey{{Key: p.Key, Rev: ev.Kv.ModRevision}}})
			}
		}
	}
	o.mu.Unlock()
	if len(cleanup) > 0 {
		o.log.Info("deleting keys attached to leases that had ended", "keys", len(cleanup))
		o.spawn(func(ctx context.Context) { o.deleteUntilDone(ctx, cleanup) })
	}
	if takeover {
		o.kickTakeover()
	}
}

// hasCarriersOf reports whether the index shows carriers claimed by name.
func (o *Offloader) hasCarriersOf(name string) (found bool) {
	o.idx.read(func(ix *lease.Index) {
		for _, c := range ix.Carriers() {
			if rec, _ := ix.Carrier(c); rec.Owner == name {
				found = true
				return
			}
		}
	})
	return found
}

// reconcileOwned drops the carriers that a fresh snapshot shows owned by
// another herald (or gone).
func (o *Offloader) reconcileOwned() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.own.Carriers() {
		var rec lease.Carrier
		var ok bool
		o.idx.read(func(ix *lease.Index) { rec, ok = ix.Carrier(c) })
		if !ok || rec.Owner != o.opts.Name || rec.Session != o.own.Session() {
			o.loseCarrierLocked(c, "the index shows it owned by another herald or gone")
		}
	}
}

// WaitIndex waits until the index has reached rev, ctx ends, or timeout
// passes; it reports whether the index got there.
func (o *Offloader) WaitIndex(ctx context.Context, rev int64, timeout time.Duration) bool {
	return o.changed.waitFor(ctx, timeout, func() bool { return o.idx.rev() >= rev })
}

// IndexRev is the revision through which the lease index is complete.
func (o *Offloader) IndexRev() int64 { return o.idx.rev() }

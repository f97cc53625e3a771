package lease

import (
	"fmt"
	"time"
)

// Record returns id's record for persisting upstream (Owner from Config).
// ErrLeaseNotFound if the table does not hold id.
func (t *Table) Record(id ID) (Record, error) {
	l := t.leases[id]
	if l == nil {
		return Record{}, ErrLeaseNotFound
	}
	return Record{ID: l.id, TTL: l.ttl, Owner: t.owner}, nil
}

// Restore re-creates a lease from its record after a restart or a takeover,
// on carrier, with a full TTL from now and its keys attached (a key already
// attached to another lease goes to the newer attachment). The record's
// Owner is not checked; taking over a peer's lease is the caller's
// decision. Errors: ErrLeaseExists, ErrLeaseTTLTooLarge, and
// ErrLeaseNotFound for ID 0 (as etcd's lessor refuses NoLease).
func (t *Table) Restore(rec Record, carrier ID, keys []AttachedKey, now time.Time) error {
	if rec.ID == NoLease {
		return fmt.Errorf("restore: %w", ErrLeaseNotFound)
	}
	ttl, err := t.checkTTL(rec.TTL)
	if err != nil {
		return err
	}
	if t.leases[rec.ID] != nil {
		return ErrLeaseExists
	}
	t.insert(rec.ID, ttl, carrier, now)
	for _, k := range keys {
		if _, err := t.Attach(rec.ID, k.Key, k.Rev, now); err != nil {
			return err
		}
	}
	return nil
}

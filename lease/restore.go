package lease

import (
	"fmt"
	"time"
)

// Record returns id's record for persisting upstream (keys sorted, Owner
// from Config). ErrLeaseNotFound if the table does not hold id.
func (t *Table) Record(id ID) (Record, error) {
	l := t.leases[id]
	if l == nil {
		return Record{}, ErrLeaseNotFound
	}
	return Record{ID: l.id, TTL: l.ttl, Keys: l.sortedKeys(), Owner: t.owner}, nil
}

// Restore re-creates a lease from its record after a restart or a takeover,
// with a full TTL from now and its keys attached (a key already attached to
// another lease moves to this one: the last restored record wins). The
// record's Owner is not checked; taking over a peer's lease is the caller's
// decision. Errors: ErrLeaseExists, ErrLeaseTTLTooLarge, and
// ErrLeaseNotFound for ID 0 (as etcd's lessor refuses NoLease).
func (t *Table) Restore(rec Record, now time.Time) error {
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
	l := t.insert(rec.ID, ttl, now)
	for _, k := range rec.Keys {
		t.Detach(k)
		l.keys[k] = struct{}{}
		t.owners[k] = l
	}
	return nil
}

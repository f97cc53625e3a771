package lease

import "time"

// Attach attaches key to live lease id (a Put with that lease) as of
// revision rev, the revision of the Put. A key belongs to at most one lease:
// attaching it elsewhere moves it, unless the key's current attachment is
// newer than rev (attachments learnt from the fleet's index may arrive after
// the table saw a later Put). It returns the lease the key was attached to
// before (NoLease if none, or id itself). ErrLeaseNotFound if id is unknown
// or expired, as etcd refuses a Put with such a lease.
func (t *Table) Attach(id ID, key string, rev int64, now time.Time) (ID, error) {
	l := t.leases[id]
	if l == nil || l.expired(now) {
		return NoLease, ErrLeaseNotFound
	}
	prev := t.owners[key]
	if prev != nil && prev.keys.get(key) > rev {
		return prev.id, nil // a newer attachment stands
	}
	if prev != nil && prev != l {
		prev.keys.delete(key)
	}
	l.keys.set(key, max(l.keys.get(key), rev))
	t.owners[key] = l
	if prev == nil {
		return NoLease, nil
	}
	return prev.id, nil
}

// Detach detaches key from its lease as of revision rev (a Put without the
// lease, a Delete, or the removal of the attachment record) and returns that
// lease, or NoLease if the key had none. An attachment newer than rev stays.
func (t *Table) Detach(key string, rev int64) ID {
	l := t.owners[key]
	if l == nil || l.keys.get(key) > rev {
		return NoLease
	}
	l.keys.delete(key)
	delete(t.owners, key)
	return l.id
}

// LeaseOf returns the lease key is attached to and the attachment's
// revision, or NoLease.
func (t *Table) LeaseOf(key string) (ID, int64) {
	if l := t.owners[key]; l != nil {
		return l.id, l.keys.get(key)
	}
	return NoLease, 0
}

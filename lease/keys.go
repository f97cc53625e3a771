package lease

import "time"

// Attach attaches key to live lease id (a Put with that lease). A key
// belongs to at most one lease: attaching it elsewhere moves it. It returns
// the lease the key was attached to before (NoLease if none, or id itself),
// so the caller can rewrite that lease's record. ErrLeaseNotFound if id is
// unknown or expired, as etcd refuses a Put with such a lease.
func (t *Table) Attach(id ID, key string, now time.Time) (ID, error) {
	l := t.leases[id]
	if l == nil || l.expired(now) {
		return NoLease, ErrLeaseNotFound
	}
	prev := t.Detach(key)
	l.keys[key] = struct{}{}
	t.owners[key] = l
	return prev, nil
}

// Detach detaches key from its lease (a Put without a lease, or a Delete)
// and returns that lease, or NoLease if the key had none.
func (t *Table) Detach(key string) ID {
	l := t.owners[key]
	if l == nil {
		return NoLease
	}
	delete(l.keys, key)
	delete(t.owners, key)
	return l.id
}

// LeaseOf returns the lease key is attached to, or NoLease. It is what the
// proxy shows a client in place of the carrier lease.
func (t *Table) LeaseOf(key string) ID {
	if l := t.owners[key]; l != nil {
		return l.id
	}
	return NoLease
}

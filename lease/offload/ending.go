package offload

import "github.com/heraldproj/herald/lease"

// attachment is one key of a lease, as attached at a revision.
type attachment struct {
	lease lease.ID
	key   string
	rev   int64
}

// Between a revoke or an expiry taking a lease out of the table and its
// delete reaching etcd, the index may still bring news of the lease's own
// keys (the feed trails etcd). ownerEvents must not take such a key for
// one attached to a lease that had already ended and delete it on its
// own: the key would go in a revision of its own, before the lease's
// other keys, where etcd deletes all of a lease's keys in one. So the
// keys whose delete is in flight are counted here, from when the table
// lets the lease go (under mu) until the delete has run.

// markEndingLocked records doomed's keys as being deleted. Under mu, in
// the same hold that took the leases out of the table.
func (o *Offloader) markEndingLocked(doomed []lease.Expired) {
	for _, d := range doomed {
		for _, k := range d.Keys {
			o.ending[attachment{d.ID, k.Key, k.Rev}]++
		}
	}
}

// endingDone forgets doomed's keys once their delete has run (or been
// given up).
func (o *Offloader) endingDone(doomed []lease.Expired) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range doomed {
		for _, k := range d.Keys {
			a := attachment{d.ID, k.Key, k.Rev}
			if o.ending[a]--; o.ending[a] <= 0 {
				delete(o.ending, a)
			}
		}
	}
}

// endingLocked reports whether the key attached to id at rev is being
// deleted with its lease. Under mu.
func (o *Offloader) endingLocked(id lease.ID, key string, rev int64) bool {
	return o.ending[attachment{id, key, rev}] > 0
}

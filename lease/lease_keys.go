package lease

import "slices"

// leaseKeysInline is how many keys a lease keeps in a list before a map:
// most virtual leases hold one key (a service registration), for which a
// map would cost ten times the key's own bytes in every herald's memory.
const leaseKeysInline = 8

// leaseKeys are a virtual lease's attached keys, each with its attachment
// revision: a short list, or a map once the lease holds more than
// leaseKeysInline keys. The zero value is empty.
type leaseKeys struct {
	list []AttachedKey
	m    map[string]int64
}

// get returns key's attachment revision, 0 if key is not attached.
func (k *leaseKeys) get(key string) int64 {
	if k.m != nil {
		return k.m[key]
	}
	if i := k.index(key); i >= 0 {
		return k.list[i].Rev
	}
	return 0
}

func (k *leaseKeys) index(key string) int {
	return slices.IndexFunc(k.list, func(a AttachedKey) bool { return a.Key == key })
}

// set attaches key as of rev.
func (k *leaseKeys) set(key string, rev int64) {
	switch i := k.index(key); {
	case k.m != nil:
		k.m[key] = rev
	case i >= 0:
		k.list[i].Rev = rev
	case len(k.list) < leaseKeysInline:
		k.list = append(k.list, AttachedKey{Key: key, Rev: rev})
	default:
		k.m = make(map[string]int64, 2*leaseKeysInline)
		for _, a := range k.list {
			k.m[a.Key] = a.Rev
		}
		k.m[key] = rev
		k.list = nil
	}
}

// delete detaches key.
func (k *leaseKeys) delete(key string) {
	if k.m != nil {
		delete(k.m, key)
		return
	}
	if i := k.index(key); i >= 0 {
		k.list = slices.Delete(k.list, i, i+1)
	}
}

func (k *leaseKeys) len() int { return len(k.list) + len(k.m) }

// all returns every attached key, in no particular order.
func (k *leaseKeys) all() []AttachedKey {
	if k.m == nil {
		return slices.Clone(k.list)
	}
	out := make([]AttachedKey, 0, len(k.m))
	for key, rev := range k.m {
		out = append(out, AttachedKey{Key: key, Rev: rev})
	}
	return out
}

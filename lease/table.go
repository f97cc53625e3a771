package lease

import (
	"slices"
	"strings"
	"time"
)

// MaxLeaseTTL is etcd's lease.MaxLeaseTTL, in seconds.
const MaxLeaseTTL = 9_000_000_000

// DefaultMinTTL is herald's minimum lease TTL in seconds (etcd's is
// ceil(1.5 × election timeout), 2 s at its defaults). See doc.go.
const DefaultMinTTL = 1

// Config configures a Table.
type Config struct {
	// Owner is the herald identity written into every lease Record.
	Owner string
	// MinTTL in seconds; TTLs below it, including ≤ 0, are raised to it as
	// etcd's lessor raises them to its minLeaseTTL. 0 means DefaultMinTTL.
	// Set it to 2 to answer exactly as an etcd with default timeouts.
	MinTTL int64
}

// Table is the virtual lease table. It is a pure state machine: every method
// that depends on time takes now from the caller's clock, nothing blocks,
// and it is not safe for concurrent use (the driver serialises calls).
//
// A lease is expired from the instant now ≥ its expiry, whether or not Tick
// has collected it yet: KeepAlive, TimeToLive, Attach and Leases treat it
// as gone, so answers do not depend on how often the driver ticks. Until
// Tick returns it, its ID stays taken and Revoke still removes it (as in
// etcd, where an expired lease stays in the lessor until revoked).
type Table struct {
	minTTL    int64
	owner     string
	ids       IDSource
	leases    map[ID]*virtualLease
	owners    map[string]*virtualLease // key → the lease it is attached to
	onCarrier map[ID]int               // carrier → how many leases hang on it
	expiry    expiryHeap
}

// virtualLease is one lease's state.
type virtualLease struct {
	id        ID
	ttl       int64 // granted TTL, seconds
	expiresAt time.Time
	heapAt    int64     // its key in the expiry heap, UnixNano: ≤ expiresAt, settled lazily
	carrier   ID        // the carrier lease its keys hang on upstream
	keys      leaseKeys // attached key → attachment revision
	heapIndex int
}

func (l *virtualLease) expired(now time.Time) bool { return !now.Before(l.expiresAt) }

func (l *virtualLease) refresh(now time.Time) {
	l.expiresAt = now.Add(time.Duration(l.ttl) * time.Second)
}

// AttachedKey is a key attached to a lease, with the revision of the Put
// that attached it (the attachment record's mod revision upstream). A delete
// of the key is guarded by it: a key written since, by anyone, is not the
// lease's to delete any more.
type AttachedKey struct {
	Key string
	Rev int64
}

func (l *virtualLease) sortedKeys() []AttachedKey {
	keys := l.keys.all()
	slices.SortFunc(keys, func(a, b AttachedKey) int { return strings.Compare(a.Key, b.Key) })
	return keys
}

// New returns an empty table that draws IDs for Grant(NoLease, …) from ids.
func New(cfg Config, ids IDSource) *Table {
	minTTL := cfg.MinTTL
	if minTTL <= 0 {
		minTTL = DefaultMinTTL
	}
	return &Table{
		minTTL:    minTTL,
		owner:     cfg.Owner,
		ids:       ids,
		leases:    make(map[ID]*virtualLease),
		owners:    make(map[string]*virtualLease),
		onCarrier: make(map[ID]int),
	}
}

// Grant creates a lease with the given TTL in seconds, expiring at now+TTL,
// whose keys will hang on carrier upstream. id NoLease draws a fresh ID. It
// returns the ID and the granted TTL (ttl raised to the minimum). Errors:
// ErrLeaseTTLTooLarge, ErrLeaseExists.
func (t *Table) Grant(id ID, ttl int64, carrier ID, now time.Time) (ID, int64, error) {
	ttl, err := t.checkTTL(ttl)
	if err != nil {
		return NoLease, 0, err
	}
	if id == NoLease {
		// etcd loops until its generator yields a usable ID; so do we, also
		// skipping IDs already in the table (e.g. restored ones).
		for id == NoLease || t.leases[id] != nil {
			id = t.ids.Next()
		}
	} else if t.leases[id] != nil {
		return NoLease, 0, ErrLeaseExists
	}
	t.insert(id, ttl, carrier, now)
	return id, ttl, nil
}

// checkTTL applies etcd's order: too large first, then the minimum.
func (t *Table) checkTTL(ttl int64) (int64, error) {
	if ttl > MaxLeaseTTL {
		return 0, ErrLeaseTTLTooLarge
	}
	return max(ttl, t.minTTL), nil
}

func (t *Table) insert(id ID, ttl int64, carrier ID, now time.Time) *virtualLease {
	l := &virtualLease{id: id, ttl: ttl, carrier: carrier}
	l.refresh(now)
	l.heapAt = heapKey(l.expiresAt)
	t.leases[id] = l
	t.onCarrier[carrier]++
	t.expiry.push(l)
	return l
}

// OnCarrier is the number of leases (expired ones not yet collected
// included) whose keys hang on carrier.
func (t *Table) OnCarrier(carrier ID) int { return t.onCarrier[carrier] }

// KeepAlive renews a live lease to a full TTL from now and returns the
// granted TTL, as etcd's LeaseRenew does. O(1) as a rule: the expiry heap
// learns of a later deadline only when the old one comes up (see settle);
// only a renewal that shortens the lease (after Extend, or on a clock
// behind the last renewal's) moves it in the heap at once.
func (t *Table) KeepAlive(id ID, now time.Time) (int64, error) {
	l := t.leases[id]
	if l == nil || l.expired(now) {
		return 0, ErrLeaseNotFound
	}
	l.refresh(now)
	if k := heapKey(l.expiresAt); k < l.heapAt {
		l.heapAt = k
		t.expiry.fix(l)
	}
	return l.ttl, nil
}

// Revoke removes a lease and returns it with its keys (sorted) for the
// caller to delete upstream. A lease that has expired but not yet been
// collected by Tick can still be revoked.
func (t *Table) Revoke(id ID) (Expired, error) {
	l := t.leases[id]
	if l == nil {
		return Expired{}, ErrLeaseNotFound
	}
	t.expiry.remove(l)
	return t.drop(l), nil
}

// drop forgets l and its keys and returns them.
func (t *Table) drop(l *virtualLease) Expired {
	delete(t.leases, l.id)
	if t.onCarrier[l.carrier]--; t.onCarrier[l.carrier] <= 0 {
		delete(t.onCarrier, l.carrier)
	}
	keys := l.sortedKeys()
	for _, k := range keys {
		delete(t.owners, k.Key)
	}
	return Expired{ID: l.id, Carrier: l.carrier, Keys: keys}
}

// DropCarrier forgets, without returning their keys, every lease whose keys
// hang on carrier: etcd expired the carrier (and deleted the keys), or
// another herald took it over (and now owns the leases). It returns the
// leases dropped, ascending.
func (t *Table) DropCarrier(carrier ID) []ID {
	var ids []ID
	for id, l := range t.leases {
		if l.carrier == carrier {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	for _, id := range ids {
		l := t.leases[id]
		t.expiry.remove(l)
		t.drop(l)
	}
	return ids
}

// CarrierOf returns the carrier of lease id, expired or not, if the table
// holds it.
func (t *Table) CarrierOf(id ID) (ID, bool) {
	if l := t.leases[id]; l != nil {
		return l.carrier, true
	}
	return NoLease, false
}

// TTLStatus is a LeaseTimeToLive answer.
type TTLStatus struct {
	ID ID
	// TTL is the remaining time in whole seconds, truncated as etcd does
	// (int64(Remaining().Seconds())); -1 for an unknown or expired lease,
	// which is what etcd answers (a response, not an error).
	TTL int64
	// GrantedTTL is the TTL the lease was granted with; 0 when unknown.
	GrantedTTL int64
	// Keys are the attached keys, sorted by key; only when asked for.
	Keys []AttachedKey
}

// TimeToLive answers LeaseTimeToLive. It never fails: an unknown lease
// gives TTL -1, as etcd's LeaseServer does.
func (t *Table) TimeToLive(id ID, now time.Time, withKeys bool) TTLStatus {
	l := t.leases[id]
	if l == nil || l.expired(now) {
		return TTLStatus{ID: id, TTL: -1}
	}
	st := TTLStatus{ID: id, TTL: int64(l.expiresAt.Sub(now).Seconds()), GrantedTTL: l.ttl}
	if withKeys {
		st.Keys = l.sortedKeys()
	}
	return st
}

// Leases returns the live lease IDs, ascending.
func (t *Table) Leases(now time.Time) []ID {
	ids := make([]ID, 0, len(t.leases))
	for id, l := range t.leases {
		if !l.expired(now) {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	return ids
}

// Live is the number of leases alive at now: those Leases lists.
func (t *Table) Live(now time.Time) int {
	n := 0
	for _, l := range t.leases {
		if !l.expired(now) {
			n++
		}
	}
	return n
}

// Len is the number of leases held, including expired ones Tick has not
// collected yet.
func (t *Table) Len() int { return len(t.leases) }

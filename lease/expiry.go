package lease

import (
	"container/heap"
	"time"
)

// Expired is a lease that Tick or Revoke removed from the table, with its
// carrier and the keys that were attached to it (sorted by key).
type Expired struct {
	ID      ID
	Carrier ID
	Keys    []AttachedKey
}

// Tick removes every lease whose expiry is at or before now and returns
// them, ordered by expiry then ID, so all expiries that fell since the last
// Tick come back together. O(k log n) for k expired leases.
func (t *Table) Tick(now time.Time) []Expired {
	var out []Expired
	for len(t.expiry) > 0 && t.expiry[0].expired(now) {
		l := heap.Pop(&t.expiry).(*virtualLease)
		out = append(out, t.drop(l))
	}
	return out
}

// NextExpiry is when the next lease expires, for the driver to arm a single
// timer instead of ticking on a period. ok is false when the table is empty.
func (t *Table) NextExpiry() (at time.Time, ok bool) {
	if len(t.expiry) == 0 {
		return time.Time{}, false
	}
	return t.expiry[0].expiresAt, true
}

// expiryHeap is a min-heap of leases by (expiresAt, id); each lease knows
// its index so KeepAlive and Revoke fix or remove it in O(log n).
type expiryHeap []*virtualLease

func (h expiryHeap) Len() int { return len(h) }

func (h expiryHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if !a.expiresAt.Equal(b.expiresAt) {
		return a.expiresAt.Before(b.expiresAt)
	}
	return a.id < b.id
}

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = i
	h[j].heapIndex = j
}

func (h *expiryHeap) Push(x any) {
	l := x.(*virtualLease)
	l.heapIndex = len(*h)
	*h = append(*h, l)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	l := old[n-1]
	old[n-1] = nil
	l.heapIndex = -1
	*h = old[:n-1]
	return l
}

func (h *expiryHeap) push(l *virtualLease)   { heap.Push(h, l) }
func (h *expiryHeap) fix(l *virtualLease)    { heap.Fix(h, l.heapIndex) }
func (h *expiryHeap) remove(l *virtualLease) { heap.Remove(h, l.heapIndex) }

// Extend gives by more time to every lease whose expiry falls after from:
// the leases of a herald that could not vouch for them from from on (see
// Ownership.SessionRenewed), whose clients' keepalives it held meanwhile. A
// lease that expired before from stays expired. It returns how many leases
// it extended. O(n); the heap needs no repair, since the leases it moves
// all move by the same amount and stay after the ones it does not.
func (t *Table) Extend(from time.Time, by time.Duration) int {
	if by <= 0 {
		return 0
	}
	n := 0
	for _, l := range t.expiry {
		if l.expiresAt.After(from) {
			l.expiresAt = l.expiresAt.Add(by)
			n++
		}
	}
	return n
}

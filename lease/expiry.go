package lease

import (
	"container/heap"
	"math"
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
// Tick come back together. O(k log n) for k expired leases, plus one heap
// step for each lease renewed since its old deadline came up.
func (t *Table) Tick(now time.Time) []Expired {
	var out []Expired
	for {
		t.settle()
		if len(t.expiry) == 0 || !t.expiry[0].expired(now) {
			return out
		}
		l := heap.Pop(&t.expiry).(*virtualLease)
		out = append(out, t.drop(l))
	}
}

// NextExpiry is when the next lease expires, for the driver to arm a single
// timer instead of ticking on a period. ok is false when the table is empty.
func (t *Table) NextExpiry() (at time.Time, ok bool) {
	t.settle()
	if len(t.expiry) == 0 {
		return time.Time{}, false
	}
	return t.expiry[0].expiresAt, true
}

// settle brings the heap's top up to date. The heap is keyed by each
// lease's deadline as it last knew it (heapAt), never later than the
// deadline (KeepAlive moves a lease up at once if it shortens it), so the
// top is the next lease to expire once its key is its deadline. A renewed
// lease at the top is moved down to its deadline.
func (t *Table) settle() {
	for len(t.expiry) > 0 {
		l := t.expiry[0]
		at := heapKey(l.expiresAt)
		if l.heapAt == at {
			return
		}
		l.heapAt = at
		heap.Fix(&t.expiry, 0)
	}
}

// heapKey is deadline in Unix nanoseconds, the heap's key; deadlines past
// 2262 (etcd's largest TTL is 285 years) all sort last, by ID.
func heapKey(deadline time.Time) int64 {
	if deadline.After(maxHeapTime) {
		return math.MaxInt64
	}
	return deadline.UnixNano()
}

var maxHeapTime = time.Unix(0, math.MaxInt64)

// expiryHeap is a min-heap of leases by (heapAt, id); each lease knows its
// index so Revoke removes it, or KeepAlive moves it up, in O(log n).
type expiryHeap []*virtualLease

func (h expiryHeap) Len() int { return len(h) }

func (h expiryHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.heapAt != b.heapAt {
		return a.heapAt < b.heapAt
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
// it extended. O(n); the heap is settled lazily, as after a renewal.
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

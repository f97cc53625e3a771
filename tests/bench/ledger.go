package bench

import (
	"sync"
	"sync/atomic"
	"time"
)

// deliveryLedger accounts for the DELETEs a set of watchers must each
// receive exactly once: one per expected key (a slot). It keeps, for every
// (watcher, slot), the first arrival, and counts exactly, per watcher, the
// duplicates (a second DELETE of a slot) and the unexpected events (any other
// event: a PUT, or a DELETE of a key that was not stopped — a lease the path
// lost). Record may be called from many goroutines at once: it takes no lock
// on its path for expected keys.
type deliveryLedger struct {
	slots      int
	slotOf     map[string]int
	first      []atomic.Int64 // [watcher*slots+slot]: UnixNano of the first arrival, 0 for none
	duplicates []atomic.Int32 // per watcher
	unexpected []atomic.Int32 // per watcher

	mu              sync.Mutex
	firstUnexpected string // the key of the first unexpected event
}

// newDeliveryLedger expects every one of watchers to receive one DELETE of
// each of keys; key i is slot i.
func newDeliveryLedger(watchers int, keys []string) *deliveryLedger {
	l := &deliveryLedger{
		slots:      len(keys),
		slotOf:     make(map[string]int, len(keys)),
		first:      make([]atomic.Int64, watchers*len(keys)),
		duplicates: make([]atomic.Int32, watchers),
		unexpected: make([]atomic.Int32, watchers),
	}
	for i, k := range keys {
		l.slotOf[k] = i
	}
	return l
}

// record notes that watcher w received an event on key at at; del says it
// is a DELETE.
func (l *deliveryLedger) record(w int, key []byte, del bool, at time.Time) {
	s, ok := l.slotOf[string(key)]
	if !ok || !del {
		l.unexpected[w].Add(1)
		l.mu.Lock()
		if l.firstUnexpected == "" {
			l.firstUnexpected = string(key)
		}
		l.mu.Unlock()
		return
	}
	if !l.first[w*l.slots+s].CompareAndSwap(0, at.UnixNano()) {
		l.duplicates[w].Add(1)
	}
}

// arrived counts the (watcher, slot) pairs of slots that have had their
// DELETE.
func (l *deliveryLedger) arrived(slots []int) int {
	n := 0
	for w := range l.duplicates {
		for _, s := range slots {
			if l.first[w*l.slots+s].Load() != 0 {
				n++
			}
		}
	}
	return n
}

// deliverySummary is what a ledger says about a set of slots.
type deliverySummary struct {
	delays          distribution    // first arrival − ref(slot) − ttl, per (watcher, slot) that arrived
	arrived         int             // (watcher, slot) pairs with a DELETE
	missing         int             // (watcher, slot) pairs without one: lost events
	watchersMissing int             // watchers missing at least one
	last            time.Time       // the latest first arrival
	sorted          []time.Duration // the delays, sorted
}

// summary is the delays of slots' first arrivals, each measured from
// ref[slot] (the node's last keepalive) and less ttl.
func (l *deliveryLedger) summary(slots []int, ref []time.Time, ttl time.Duration) deliverySummary {
	var sum deliverySummary
	var delays []time.Duration
	for w := range l.duplicates {
		missed := false
		for _, s := range slots {
			ns := l.first[w*l.slots+s].Load()
			if ns == 0 {
				sum.missing++
				missed = true
				continue
			}
			sum.arrived++
			at := time.Unix(0, ns)
			if at.After(sum.last) {
				sum.last = at
			}
			delays = append(delays, at.Sub(ref[s])-ttl)
		}
		if missed {
			sum.watchersMissing++
		}
	}
	sum.delays = summarise(delays)
	sum.sorted = delays
	return sum
}

// extras counts the duplicated and unexpected events over every watcher and
// the watchers that had any, with the key of the first unexpected event.
func (l *deliveryLedger) extras() (dups, dupWatchers, unexpected, unexpectedWatchers int, firstUnexpected string) {
	for w := range l.duplicates {
		if d := int(l.duplicates[w].Load()); d > 0 {
			dups += d
			dupWatchers++
		}
		if u := int(l.unexpected[w].Load()); u > 0 {
			unexpected += u
			unexpectedWatchers++
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return dups, dupWatchers, unexpected, unexpectedWatchers, l.firstUnexpected
}

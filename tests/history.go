package tests

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// A mutual-exclusion history: what the holders of a lock (a
// concurrency.Mutex, `etcdctl lock`, an Election's leadership) observed, and
// the check that no two of them held it at once.
//
// A holder cannot observe the instant it got or gave up the lock, only the
// call around it: the lock was acquired at some instant between the start of
// Lock (or Campaign) and its return, and released between the start of Unlock
// (or Resign) and its return. A Hold records both windows:
//
//	h := history.Begin("mylock", "client-3") // just before Lock
//	err := m.Lock(ctx)
//	h.Acquired()                             // Lock returned nil
//	... critical section ...
//	h.Releasing()                            // just before Unlock
//	err = m.Unlock(ctx)
//	h.Released()                             // Unlock returned; recorded
//
// Overlaps then reports the pairs of holds that certainly overlapped,
// whatever instants inside the windows the real events took: B's acquire
// returned before A's release started and A's acquire returned before B's
// release started. A pair that only might have overlapped (windows that
// touch or cross) is not reported; every timestamp comes from the test
// process's monotonic clock, so certain means certain.
//
// A hold whose holder found out that it had lost the lock (its session
// expired while it held it) is recorded with Lost, and its release window
// starts at its acquire's return: it held the lock for certain only until it
// knew it had it. Lost holds are failures in their own right; the drivers
// count them as errors.

// Window is the interval during which an event happened at some instant.
type Window struct {
	Start, End time.Time
}

// Hold is one tenure of a lock by one holder.
type Hold struct {
	Lock    string // the lock's (or election's) name
	Holder  string // who held it, for messages
	Acquire Window // Lock / Campaign: from its start to its return
	Release Window // Unlock / Resign: from its start to its return
	Lost    bool   // the holder learnt it had lost the lock (Release.Start = Acquire.End)
}

// CertainlyOverlaps reports whether h and o held their lock at the same
// instant whatever the real instants of their acquisitions and releases
// within the recorded windows.
func (h Hold) CertainlyOverlaps(o Hold) bool {
	return h.Lock == o.Lock && h.Acquire.End.Before(o.Release.Start) && o.Acquire.End.Before(h.Release.Start)
}

// valid reports whether the windows are in the only possible order.
func (h Hold) valid() bool {
	return !h.Acquire.End.Before(h.Acquire.Start) && !h.Release.Start.Before(h.Acquire.End) &&
		!h.Release.End.Before(h.Release.Start)
}

func (h Hold) String() string {
	lost := ""
	if h.Lost {
		lost = " (lost)"
	}
	return fmt.Sprintf("%s held %s%s", h.Holder, h.Lock, lost)
}

// Overlap is two holds of one lock that certainly overlapped.
type Overlap struct {
	A, B Hold
}

// describe says what the overlap is, with times relative to origin.
func (o Overlap) describe(origin time.Time) string {
	rel := func(t time.Time) string { return t.Sub(origin).Round(time.Microsecond).String() }
	hold := func(h Hold) string {
		return fmt.Sprintf("%s [acquire %s..%s, release %s..%s]", h, rel(h.Acquire.Start), rel(h.Acquire.End),
			rel(h.Release.Start), rel(h.Release.End))
	}
	both := o.A.Release.Start
	if o.B.Release.Start.Before(both) {
		both = o.B.Release.Start
	}
	from := o.A.Acquire.End
	if o.B.Acquire.End.After(from) {
		from = o.B.Acquire.End
	}
	return fmt.Sprintf("both held from %s to %s at least: %s and %s", rel(from), rel(both), hold(o.A), hold(o.B))
}

// History collects holds from any number of goroutines.
type History struct {
	mu     sync.Mutex
	origin time.Time // for messages
	holds  []Hold
}

// NewHistory returns an empty history; times in its messages are relative
// to now.
func NewHistory() *History { return &History{origin: time.Now()} }

// Add records a finished hold.
func (hi *History) Add(h Hold) {
	hi.mu.Lock()
	defer hi.mu.Unlock()
	hi.holds = append(hi.holds, h)
}

// Holds returns a copy of the recorded holds.
func (hi *History) Holds() []Hold {
	hi.mu.Lock()
	defer hi.mu.Unlock()
	return slices.Clone(hi.holds)
}

// Overlaps returns every pair of holds of the same lock that certainly
// overlapped, and an error for every hold whose windows are out of order (a
// bug of the recorder).
func (hi *History) Overlaps() ([]Overlap, []error) {
	var errs []error
	byLock := map[string][]Hold{}
	for _, h := range hi.Holds() {
		if !h.valid() {
			errs = append(errs, fmt.Errorf("history: %v has its windows out of order: %+v", h, h))
			continue
		}
		byLock[h.Lock] = append(byLock[h.Lock], h)
	}
	var out []Overlap
	for _, holds := range byLock {
		// Sorted by the end of the acquire window: a later hold j can only
		// overlap i certainly if it was acquired before i's release started,
		// and once one is not, none after it is.
		slices.SortFunc(holds, func(a, b Hold) int { return a.Acquire.End.Compare(b.Acquire.End) })
		for i, a := range holds {
			for _, b := range holds[i+1:] {
				if !b.Acquire.End.Before(a.Release.Start) {
					break
				}
				if a.CertainlyOverlaps(b) {
					out = append(out, Overlap{A: a, B: b})
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y Overlap) int {
		return cmp.Or(strings.Compare(x.A.Lock, y.A.Lock), x.A.Acquire.End.Compare(y.A.Acquire.End))
	})
	return out, errs
}

// Report describes the overlaps (at most limit of them) for a test's
// failure message.
func (hi *History) Report(overlaps []Overlap, limit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d certain overlaps in %d holds", len(overlaps), len(hi.Holds()))
	for i, o := range overlaps {
		if i == limit {
			fmt.Fprintf(&b, "\n\t... and %d more", len(overlaps)-limit)
			break
		}
		fmt.Fprintf(&b, "\n\t%s", o.describe(hi.origin))
	}
	return b.String()
}

// Begin starts recording a hold of lock by holder: call it just before the
// acquiring call.
func (hi *History) Begin(lock, holder string) *Tenure {
	return &Tenure{hi: hi, hold: Hold{Lock: lock, Holder: holder, Acquire: Window{Start: time.Now()}}}
}

// Tenure is a hold being recorded. Its methods are called by the one
// goroutine that acquires and releases.
type Tenure struct {
	hi   *History
	hold Hold
}

// Acquired marks the return of the acquiring call, which succeeded.
func (t *Tenure) Acquired() { t.hold.Acquire.End = time.Now() }

// Releasing marks the start of the releasing call: the holder still held the
// lock up to now.
func (t *Tenure) Releasing() { t.hold.Release.Start = time.Now() }

// Released marks the return of the releasing call and adds the hold to the
// history (whether the call succeeded or not: the lock was held until its
// start).
func (t *Tenure) Released() {
	t.hold.Release.End = time.Now()
	t.hi.Add(t.hold)
}

// Lost records that the holder found out, now, that it had lost the lock
// without releasing it: it held it for certain only until Acquired.
func (t *Tenure) Lost() {
	t.hold.Lost = true
	t.hold.Release = Window{Start: t.hold.Acquire.End, End: time.Now()}
	t.hi.Add(t.hold)
}

package bench

import (
	"sync"
	"testing"
	"time"
)

func TestDeliveryLedger(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ttl := 5 * time.Second
	keys := []string{"/services/web/a", "/services/web/b", "/services/web/c"}
	ref := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second)}
	l := newDeliveryLedger(3, keys)
	at := func(d time.Duration) time.Time { return t0.Add(ttl + d) }

	// Watcher 0 gets a and b once, b twice more; watcher 1 gets all three,
	// a PUT of a and a DELETE of a key nobody stopped; watcher 2 gets nothing.
	l.record(0, []byte(keys[0]), true, at(100*time.Millisecond))
	l.record(0, []byte(keys[1]), true, at(time.Second+200*time.Millisecond))
	l.record(0, []byte(keys[1]), true, at(time.Second+900*time.Millisecond))
	l.record(0, []byte(keys[1]), true, at(time.Second+950*time.Millisecond))
	l.record(1, []byte(keys[0]), true, at(300*time.Millisecond))
	l.record(1, []byte(keys[0]), false, at(310*time.Millisecond))
	l.record(1, []byte(keys[1]), true, at(time.Second+400*time.Millisecond))
	l.record(1, []byte(keys[2]), true, at(2*time.Second+500*time.Millisecond))
	l.record(1, []byte("/services/web/zz"), true, at(time.Second))

	s := l.summary([]int{0, 1, 2}, ref, ttl)
	if s.arrived != 5 || s.missing != 4 || s.watchersMissing != 2 {
		t.Fatalf("arrived/missing/watchersMissing = %d/%d/%d, want 5/4/2", s.arrived, s.missing, s.watchersMissing)
	}
	// Delays (ms): 100, 200, 300, 400, 500; the later duplicate of b does
	// not count.
	if s.delays.n != 5 || s.delays.first != 100*time.Millisecond || s.delays.p50 != 300*time.Millisecond ||
		s.delays.last != 500*time.Millisecond {
		t.Fatalf("delays = %+v", s.delays)
	}
	if want := at(2*time.Second + 500*time.Millisecond); !s.last.Equal(want) {
		t.Fatalf("last = %v, want %v", s.last, want)
	}
	if got := l.arrived([]int{1}); got != 2 {
		t.Fatalf("arrived(b) = %d, want 2", got)
	}
	dups, dupW, unexp, unexpW, firstKey := l.extras()
	if dups != 2 || dupW != 1 || unexp != 2 || unexpW != 1 || firstKey != keys[0] {
		t.Fatalf("extras = %d %d %d %d %q, want 2 1 2 1 %q", dups, dupW, unexp, unexpW, firstKey, keys[0])
	}
	only := l.summary([]int{2}, ref, ttl)
	if only.arrived != 1 || only.missing != 2 {
		t.Fatalf("slot c: arrived/missing = %d/%d, want 1/2", only.arrived, only.missing)
	}
}

// TestDeliveryLedgerConcurrent records from many goroutines, as the watch
// streams' receive loops do, and checks that exactly the extra copies count
// as duplicates.
func TestDeliveryLedgerConcurrent(t *testing.T) {
	const watchers, copies = 50, 4
	keys := []string{"k0", "k1", "k2", "k3"}
	l := newDeliveryLedger(watchers, keys)
	now := time.Now()
	var wg sync.WaitGroup
	for c := range copies {
		for w := range watchers {
			wg.Go(func() {
				for _, k := range keys {
					l.record(w, []byte(k), true, now.Add(time.Duration(c+1)))
				}
			})
		}
	}
	wg.Wait()
	s := l.summary([]int{0, 1, 2, 3}, make([]time.Time, len(keys)), 0)
	if s.arrived != watchers*len(keys) || s.missing != 0 {
		t.Fatalf("arrived/missing = %d/%d", s.arrived, s.missing)
	}
	dups, dupW, unexp, _, _ := l.extras()
	if dups != watchers*len(keys)*(copies-1) || dupW != watchers || unexp != 0 {
		t.Fatalf("dups %d over %d watchers, unexpected %d", dups, dupW, unexp)
	}
}

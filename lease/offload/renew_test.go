package offload

import (
	"slices"
	"testing"
	"time"

	"github.com/heraldproj/herald/lease"
)

// TestDueRenewalsGoTogether: nothing is renewed before a lease falls due;
// then every lease that would fall due within the shortest period goes
// with it, so that over time a herald's session and carriers renew on the
// session's ticks, never later than their own periods.
func TestDueRenewalsGoTogether(t *testing.T) {
	const session, c1, c2 = lease.ID(1), lease.ID(2), lease.ID(3)
	period := map[lease.ID]time.Duration{session: 667 * time.Millisecond, c1: 2500 * time.Millisecond, c2: 5000 * time.Millisecond}
	t0 := time.Unix(1000, 0)
	lastSent := map[lease.ID]time.Time{}
	if got := dueRenewals(t0, period, lastSent); !slices.Equal(got, []lease.ID{session, c1, c2}) {
		t.Fatalf("first renewals %v, want all three", got)
	}
	for _, id := range []lease.ID{session, c1, c2} {
		lastSent[id] = t0
	}
	if got := dueRenewals(t0.Add(600*time.Millisecond), period, lastSent); got != nil {
		t.Fatalf("renewals %v before any lease is due", got)
	}
	// Simulate 60 s on a 100 ms tick, as renewStream runs.
	var wakes int
	sends := map[lease.ID]int{}
	for now := t0.Add(100 * time.Millisecond); now.Before(t0.Add(60 * time.Second)); now = now.Add(100 * time.Millisecond) {
		got := dueRenewals(now, period, lastSent)
		if len(got) == 0 {
			continue
		}
		if !slices.Contains(got, session) {
			t.Fatalf("%v: %v renewed without the session", now.Sub(t0), got)
		}
		wakes++
		for _, id := range got {
			if gap := now.Sub(lastSent[id]); gap > period[id]+100*time.Millisecond {
				t.Fatalf("%v: lease %d renewed %v after its last renewal, period %v", now.Sub(t0), id, gap, period[id])
			}
			sends[id]++
			lastSent[id] = now
		}
	}
	if sends[session] != wakes || sends[c1] >= wakes || sends[c2] >= sends[c1] || sends[c2] == 0 {
		t.Fatalf("%d wake-ups, renewals %v: want the session on every one, the carriers on fewer, the longer period fewest", wakes, sends)
	}
}

package lease

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestTableOnCarrier drives Grant, Restore, Revoke, Tick and DropCarrier at
// random (seeded) over three carriers and checks OnCarrier against a count
// of the leases the table holds after every step.
func TestTableOnCarrier(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0xca771e5))
			tab := New(Config{}, &seqIDs{next: 100})
			carriers := []ID{1001, 1002, 1003}
			now := t0
			for step := range 2000 {
				c := carriers[rng.IntN(len(carriers))]
				id := ID(rng.IntN(30) + 1)
				switch rng.IntN(6) {
				case 0:
					tab.Grant(id, int64(rng.IntN(5)+1), c, now)
				case 1:
					tab.Restore(Record{ID: id, TTL: 3}, c, []AttachedKey{{Key: fmt.Sprint("/k", id), Rev: int64(step)}}, now)
				case 2:
					tab.Revoke(id)
				case 3:
					now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
					tab.Tick(now)
				case 4:
					if rng.IntN(10) == 0 {
						tab.DropCarrier(c)
					}
				case 5:
					tab.Grant(NoLease, 2, c, now)
				}
				want := map[ID]int{}
				for _, l := range tab.leases {
					want[l.carrier]++
				}
				for _, c := range carriers {
					if got := tab.OnCarrier(c); got != want[c] {
						t.Fatalf("step %d: OnCarrier(%d) = %d, the table holds %d", step, c, got, want[c])
					}
				}
				if len(tab.onCarrier) != len(want) {
					t.Fatalf("step %d: counts kept for %d carriers, %d have leases", step, len(tab.onCarrier), len(want))
				}
			}
		})
	}
}

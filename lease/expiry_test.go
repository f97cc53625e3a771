package lease

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestExtend(t *testing.T) {
	tab := New(Config{}, &seqIDs{})
	for ttl := int64(1); ttl <= 6; ttl++ {
		if _, _, err := tab.Grant(ID(ttl), ttl, 9, t0); err != nil {
			t.Fatal(err)
		}
	}
	// A herald blind from t0+2.5s gives its leases 3 s back: leases 1 and 2
	// had ended before, leases 3–6 move from t0+3..6s to t0+6..9s.
	if n := tab.Extend(t0.Add(2500*ms), 3*time.Second); n != 4 {
		t.Fatalf("Extend extended %d leases, want 4", n)
	}
	steps := []struct {
		at   time.Duration
		want []ID
	}{
		{2 * time.Second, []ID{1, 2}},
		{5999 * ms, nil},
		{6 * time.Second, []ID{3}},
		{9 * time.Second, []ID{4, 5, 6}},
	}
	for _, s := range steps {
		if got := expiredIDs(tab.Tick(t0.Add(s.at))); !slices.Equal(got, s.want) {
			t.Fatalf("Tick(t0+%v) = %v, want %v", s.at, got, s.want)
		}
	}
	if n := tab.Extend(t0, 0); n != 0 {
		t.Fatalf("Extend by 0 extended %d leases", n)
	}
}

// TestExtendKeepsExpiryOrder extends random tables at random points and
// checks that Tick still returns every lease in deadline order: Extend
// moves leases without repairing the heap.
func TestExtendKeepsExpiryOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		tab := New(Config{}, &seqIDs{})
		deadlines := map[ID]time.Time{}
		for id := ID(1); id <= 50; id++ {
			ttl := 1 + r.Int64N(20)
			granted := t0.Add(time.Duration(r.Int64N(5000)) * ms)
			if _, _, err := tab.Grant(id, ttl, 9, granted); err != nil {
				t.Fatal(err)
			}
			deadlines[id] = granted.Add(time.Duration(ttl) * time.Second)
		}
		from := t0.Add(time.Duration(r.Int64N(25000)) * ms)
		by := time.Duration(1+r.Int64N(5000)) * ms
		tab.Extend(from, by)
		for id, d := range deadlines {
			if d.After(from) {
				deadlines[id] = d.Add(by)
			}
		}
		got := expiredIDs(tab.Tick(t0.Add(time.Hour)))
		want := make([]ID, 0, len(deadlines))
		for id := range deadlines {
			want = append(want, id)
		}
		slices.SortFunc(want, func(a, b ID) int {
			if c := deadlines[a].Compare(deadlines[b]); c != 0 {
				return c
			}
			return int(a - b)
		})
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: Tick order %v, want %v", round, got, want)
		}
	}
}

func expiredIDs(es []Expired) []ID {
	var ids []ID
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

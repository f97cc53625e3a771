package tests

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// histOrigin is the origin of the hand-made histories; atMs(ms) is a time after it.
var histOrigin = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func atMs(ms float64) time.Time { return histOrigin.Add(time.Duration(ms * float64(time.Millisecond))) }

// mkHold is a hand-made hold of lock "L": acquire window [a1, a2], release
// window [r1, r2], in ms from histOrigin.
func mkHold(holder string, a1, a2, r1, r2 float64) Hold {
	return Hold{Lock: "L", Holder: holder, Acquire: Window{atMs(a1), atMs(a2)}, Release: Window{atMs(r1), atMs(r2)}}
}

func lostHold(h Hold) Hold {
	h.Lost = true
	h.Release.Start = h.Acquire.End
	return h
}

func onLock(h Hold, lock string) Hold {
	h.Lock = lock
	return h
}

func TestHistoryOverlaps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		holds []Hold
		want  [][2]string // holder pairs reported, in order
	}{
		{name: "sequential", holds: []Hold{
			mkHold("a", 0, 1, 2, 3), mkHold("b", 4, 5, 6, 7), mkHold("c", 8, 9, 10, 11),
		}},
		{name: "certain overlap", holds: []Hold{
			mkHold("a", 0, 1, 5, 6), mkHold("b", 2, 3, 7, 8),
		}, want: [][2]string{{"a", "b"}}},
		{name: "one inside the other", holds: []Hold{
			mkHold("a", 0, 1, 9, 10), mkHold("b", 2, 3, 4, 5),
		}, want: [][2]string{{"a", "b"}}},
		{name: "order of recording does not matter", holds: []Hold{
			mkHold("b", 2, 3, 7, 8), mkHold("a", 0, 1, 5, 6),
		}, want: [][2]string{{"a", "b"}}},
		// b's Lock returned at the very instant a's Unlock started: the
		// hand-over may have been exact.
		{name: "adjacent", holds: []Hold{
			mkHold("a", 0, 1, 2, 3), mkHold("b", 1.5, 2, 4, 5),
		}},
		// The usual hand-over: b's Lock waits while a unlocks, and returns
		// after a's Unlock started. Possible overlap only.
		{name: "windows cross", holds: []Hold{
			mkHold("a", 0, 1, 2, 6), mkHold("b", 1.5, 5, 7, 8),
		}},
		{name: "wide acquire windows", holds: []Hold{
			mkHold("a", 0, 10, 11, 12), mkHold("b", 1, 11.5, 13, 14),
		}},
		{name: "uncertain by one nanosecond", holds: []Hold{
			mkHold("a", 0, 1, 2, 3), {Lock: "L", Holder: "b", Acquire: Window{atMs(0.5), atMs(2)}, Release: Window{atMs(4), atMs(5)}},
		}},
		{name: "certain by one nanosecond", holds: []Hold{
			mkHold("a", 0, 1, 2, 3), {Lock: "L", Holder: "b", Acquire: Window{atMs(0.5), atMs(2).Add(-1)}, Release: Window{atMs(4), atMs(5)}},
		}, want: [][2]string{{"a", "b"}}},
		{name: "different locks", holds: []Hold{
			mkHold("a", 0, 1, 5, 6), onLock(mkHold("b", 2, 3, 7, 8), "M"),
		}},
		// a learnt it had lost the lock: it held it for certain only until
		// its Lock returned, so b acquiring after that is no violation...
		{name: "lost, then another acquires", holds: []Hold{
			lostHold(mkHold("a", 0, 1, 0, 9)), mkHold("b", 2, 3, 4, 5),
		}},
		// ...but a acquiring while b certainly held it is one.
		{name: "lost, acquired while another held", holds: []Hold{
			mkHold("b", 0, 1, 5, 6), lostHold(mkHold("a", 2, 3, 0, 9)),
		}, want: [][2]string{{"b", "a"}}},
		{name: "three at once", holds: []Hold{
			mkHold("a", 0, 1, 10, 11), mkHold("b", 2, 3, 12, 13), mkHold("c", 4, 5, 14, 15), mkHold("d", 16, 17, 18, 19),
		}, want: [][2]string{{"a", "b"}, {"a", "c"}, {"b", "c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hi := NewHistory()
			for _, h := range tc.holds {
				hi.Add(h)
			}
			got, errs := hi.Overlaps()
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			var pairs [][2]string
			for _, o := range got {
				pairs = append(pairs, [2]string{o.A.Holder, o.B.Holder})
			}
			if len(pairs) != len(tc.want) {
				t.Fatalf("overlaps %v, want %v\n%s", pairs, tc.want, hi.Report(got, 10))
			}
			for i := range pairs {
				if pairs[i] != tc.want[i] {
					t.Fatalf("overlaps %v, want %v", pairs, tc.want)
				}
			}
		})
	}
}

func TestHistoryRejectsMalformedHolds(t *testing.T) {
	hi := NewHistory()
	hi.Add(mkHold("ok", 0, 1, 2, 3))
	hi.Add(mkHold("backwards", 0, 1, 0.5, 3)) // released before acquired
	hi.Add(mkHold("inverted", 2, 1, 3, 4))    // acquire window ends before it starts
	got, errs := hi.Overlaps()
	if len(got) != 0 || len(errs) != 2 {
		t.Fatalf("overlaps %v, errors %v; want none and 2", got, errs)
	}
}

// TestHistoryMatchesBruteForce: on random histories, the sweep in Overlaps
// finds exactly the pairs that CertainlyOverlaps finds comparing every pair.
func TestHistoryMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		hi := NewHistory()
		var holds []Hold
		for i := range 30 {
			// Random windows in [0, 100) ms, ordered as a recorder would.
			p := make([]float64, 4)
			for j := range p {
				p[j] = rng.Float64() * 100
			}
			slices.Sort(p)
			h := mkHold(string(rune('A'+i)), p[0], p[1], p[2], p[3])
			if rng.IntN(3) == 0 {
				h.Lock = "M"
			}
			if rng.IntN(10) == 0 {
				h = lostHold(h)
			}
			holds = append(holds, h)
			hi.Add(h)
		}
		want := map[[2]string]bool{}
		for i := range holds {
			for j := range holds {
				if i < j && holds[i].CertainlyOverlaps(holds[j]) {
					want[pairKey(holds[i].Holder, holds[j].Holder)] = true
				}
			}
		}
		got, errs := hi.Overlaps()
		if len(errs) > 0 {
			t.Fatalf("round %d: errors %v", round, errs)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d overlaps, brute force finds %d", round, len(got), len(want))
		}
		for _, o := range got {
			if !want[pairKey(o.A.Holder, o.B.Holder)] {
				t.Fatalf("round %d: reported %s/%s, which brute force does not", round, o.A.Holder, o.B.Holder)
			}
		}
	}
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func TestHistoryReport(t *testing.T) {
	hi := NewHistory()
	hi.Add(mkHold("alice", 0, 1, 5, 6))
	hi.Add(mkHold("bob", 2, 3, 7, 8))
	hi.Add(mkHold("carol", 2.5, 4, 7.5, 8))
	got, _ := hi.Overlaps()
	r := hi.Report(got, 2)
	for _, want := range []string{"3 certain overlaps in 3 holds", "alice held L", "bob held L", "... and 1 more"} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
}

// TestTenureRecordsWindows: the recording helpers put the windows in order
// and add the hold when it ends.
func TestTenureRecordsWindows(t *testing.T) {
	hi := NewHistory()
	tn := hi.Begin("L", "a")
	tn.Acquired()
	tn.Releasing()
	tn.Released()
	tn = hi.Begin("L", "b")
	tn.Acquired()
	tn.Lost()
	holds := hi.Holds()
	if len(holds) != 2 {
		t.Fatalf("%d holds recorded, want 2", len(holds))
	}
	for _, h := range holds {
		if !h.valid() {
			t.Errorf("%v: windows out of order: %+v", h, h)
		}
	}
	if b := holds[1]; !b.Lost || !b.Release.Start.Equal(b.Acquire.End) {
		t.Errorf("lost hold %+v: want Lost and its release window starting at its acquire's end", b)
	}
	if _, errs := hi.Overlaps(); len(errs) > 0 {
		t.Errorf("errors: %v", errs)
	}
}

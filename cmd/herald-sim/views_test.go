package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

func absentFrom(sc *scenario, i int) []int {
	var out []int
	for j, id := range sc.ids {
		if !sc.view(i).Contains(id) {
			out = append(out, j)
		}
	}
	return out
}

// TestViewMiss: each member lacks its own share F of the others, never
// itself, and two members lack different ones.
func TestViewMiss(t *testing.T) {
	o := simOptions()
	o.viewMiss = 0.05
	sc := newScenario(o, 1)
	want := int(0.05 * float64(o.n))
	a0, a1 := absentFrom(sc, 0), absentFrom(sc, 1)
	for i, a := range [][]int{a0, a1} {
		if len(a) != want {
			t.Errorf("member %d lacks %d members, want %d", i, len(a), want)
		}
		for _, j := range a {
			if j == i {
				t.Errorf("member %d lacks itself", i)
			}
		}
	}
	same := 0
	for _, j := range a0 {
		for _, k := range a1 {
			if j == k {
				same++
			}
		}
	}
	if same > want/2 {
		t.Errorf("members 0 and 1 both lack %d of their %d missing members: not independent", same, want)
	}
	if o.viewMiss = 0; newScenario(o, 1).views != nil {
		t.Error("without -view-miss or -view-lag members have their own views")
	}
}

// TestViewLag: crashes and joins are known to some members and not to
// others; a joiner knows everyone; and the share that knows grows with the
// age of the change, so some are known to almost all and some to few.
func TestViewLag(t *testing.T) {
	o := simOptions()
	o.n, o.crashed, o.viewLag, o.churn = 2000, 0.02, 2*time.Second, 0.02
	sc := newScenario(o, 1)
	live := 0
	for i := range sc.n {
		if !sc.crashed[i] {
			live++
		}
	}
	var deadKnown, deadUnknown int // (member, crashed member) pairs
	for j := range sc.n {
		if !sc.crashed[j] {
			continue
		}
		know := 0
		for i := range sc.n {
			if !sc.crashed[i] && !sc.view(i).Contains(sc.ids[j]) {
				know++
			}
		}
		deadKnown += know
		deadUnknown += live - know
	}
	if deadKnown == 0 || deadUnknown == 0 {
		t.Errorf("crashes known in %d (member, crash) pairs, unknown in %d: want both", deadKnown, deadUnknown)
	}
	joinerSeen := false
	for i := range sc.n {
		if sc.crashed[i] {
			continue
		}
		a := absentFrom(sc, i)
		// A member lacking many live members is a joiner only if it lacks
		// none: joiners know everyone, so check one that lacks no live one.
		lacksLive := false
		for _, j := range a {
			if !sc.crashed[j] {
				lacksLive = true
				break
			}
		}
		if lacksLive {
			joinerSeen = true
		}
	}
	if !joinerSeen {
		t.Error("no member lacks a joiner")
	}
	o.viewLag = 0
	if sc := newScenario(o, 1); sc.views != nil {
		t.Error("without -view-lag crashed members were dropped from views: nobody has noticed them yet")
	}
}

// TestEachWith checks the geometric sampler's rate and bounds.
func TestEachWith(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, p := range []float64{0, 0.001, 0.3, 0.99, 1} {
		count, last := 0, -1
		eachWith(r, 100000, p, func(i int) {
			if i <= last || i >= 100000 {
				t.Fatalf("p=%g: index %d after %d", p, i, last)
			}
			last = i
			count++
		})
		if want := p * 100000; float64(count) < want*0.9-5 || float64(count) > want*1.1+5 {
			t.Errorf("p=%g: %d picked, want about %.0f", p, count, want)
		}
	}
}

package plumtree

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestViewWithoutMatchesNewView checks that a derived view answers exactly
// as a view built from the remaining members would: the trees of a member
// with a partial view depend on it.
func TestViewWithoutMatchesNewView(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var all []NodeID
	for i := range 200 {
		all = append(all, NodeID(fmt.Sprintf("m%03d", i)))
	}
	base := NewView(all)
	for round := range 20 {
		var absent, kept []NodeID
		for _, m := range all {
			if r.IntN(4) == 0 {
				absent = append(absent, m)
			} else {
				kept = append(kept, m)
			}
		}
		absent = append(absent, "not-a-member")
		got, want := base.Without(absent[:len(absent)/2]).Without(absent[len(absent)/2:]), NewView(kept)
		if got.Len() != want.Len() {
			t.Fatalf("round %d: Len %d, want %d", round, got.Len(), want.Len())
		}
		for i := range want.Len() {
			if got.Member(i) != want.Member(i) {
				t.Fatalf("round %d: Member(%d) = %s, want %s", round, i, got.Member(i), want.Member(i))
			}
		}
		for _, m := range append(all, "m0005x") {
			gi, gok := got.Index(m)
			wi, wok := want.Index(m)
			if gi != wi || gok != wok {
				t.Fatalf("round %d: Index(%s) = %d,%v, want %d,%v", round, m, gi, gok, wi, wok)
			}
			if g, w := got.insertionIndex(m), insertionIndexOf(want, m); g != w {
				t.Fatalf("round %d: insertionIndex(%s) = %d, want %d", round, m, g, w)
			}
		}
	}
}

func insertionIndexOf(v *View, id NodeID) int {
	i := 0
	for i < v.Len() && v.Member(i) < id {
		i++
	}
	return i
}

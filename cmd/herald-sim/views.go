package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// viewModel says how members' membership views disagree at the time of the
// broadcasts; members are numbered 0…n−1, the base view holds them all.
//
//   - miss (-view-miss F): each member's view lacks its own random share F of
//     the other members, for good (partial views; memberlist never
//     guarantees that every member knows every other).
//   - lag (-view-lag D): membership changes reach members over D, the way
//     memberlist's gossip spreads them: the number of members that know of a
//     change grows exponentially, N^(τ/D) after τ, so a member learns it
//     τ = D·log(1+U·(N−1))/log N after the change (U uniform). The changes
//     are the crashes (-crash; without -view-lag no member has noticed them
//     yet) and the joins of a share churn of the members, each at a time
//     drawn uniformly from the D before the first broadcast. A member that
//     knows of a crash has dropped the crashed member from its view; one
//     that does not know of a join lacks the joiner. A joiner knows everyone
//     (memberlist's push/pull on join).
//
// Views do not change during a run: a run's broadcasts span far less than D.
// A joiner introduces itself to its tree parents when it joins
// (plumtree.Node.Announce): joins lists who joined and when, relative to the
// first broadcast.
type viewModel struct {
	miss  float64
	lag   time.Duration
	churn float64
}

// join is a member that joined at (before the first broadcast, ≤ 0).
type join struct {
	member int32
	at     time.Duration
}

// buildViews returns each member's view, or nil when every member has the
// whole base view, and the joins.
func (vm viewModel) buildViews(r *rand.Rand, ids []plumtree.NodeID, base *plumtree.View, crashed []bool) ([]*plumtree.View, []join) {
	n := len(ids)
	if vm.miss == 0 && vm.lag == 0 {
		return nil, nil
	}
	var joins []join
	absent := make([][]int32, n)
	if k := int(math.Round(vm.miss * float64(n))); k > 0 {
		for i := range absent {
			absent[i] = appendSample(r, absent[i], n, k, int32(i))
		}
	}
	if vm.lag > 0 {
		// A change of age a is known to each member with probability
		// (N^(a/D) − 1)/(N − 1): the members that learn it within a.
		var age float64 // of the last change drawn, as a share of D
		known := func() float64 {
			age = r.Float64()
			return (math.Pow(float64(n), age) - 1) / float64(n-1)
		}
		for j := range n {
			if crashed[j] {
				q := known()
				eachWith(r, n, q, func(i int) {
					if i != j && !crashed[i] {
						absent[i] = append(absent[i], int32(j))
					}
				})
			}
		}
		for _, j := range r.Perm(n)[:int(vm.churn*float64(n))] {
			if crashed[j] {
				continue
			}
			q := known()
			joins = append(joins, join{int32(j), -time.Duration(age * float64(vm.lag))})
			eachWith(r, n, 1-q, func(i int) {
				if i != j && !crashed[i] {
					absent[i] = append(absent[i], int32(j))
				}
			})
		}
	}
	views := make([]*plumtree.View, n)
	for i, a := range absent {
		if len(a) == 0 {
			views[i] = base
			continue
		}
		names := make([]plumtree.NodeID, len(a))
		for k, j := range a {
			names[k] = ids[j]
		}
		views[i] = base.Without(names)
		absent[i] = nil
	}
	return views, joins
}

// appendSample appends k distinct members other than self, drawn at random.
func appendSample(r *rand.Rand, dst []int32, n, k int, self int32) []int32 {
	k = min(k, n-1)
	start := len(dst)
	for len(dst)-start < k {
		for len(dst)-start < k {
			if j := int32(r.IntN(n)); j != self {
				dst = append(dst, j)
			}
		}
		slices.Sort(dst[start:])
		dst = append(dst[:start], slices.Compact(dst[start:])...)
	}
	return dst
}

// eachWith calls fn for each of 0…n−1 with probability p, in order, skipping
// geometrically so that the cost is that of the members picked.
func eachWith(r *rand.Rand, n int, p float64, fn func(int)) {
	switch {
	case p <= 0:
		return
	case p >= 1:
		for i := range n {
			fn(i)
		}
		return
	}
	l := math.Log1p(-p)
	for i := -1; ; {
		skip := math.Floor(math.Log(1-r.Float64()) / l)
		if float64(i)+1+skip >= float64(n) {
			return
		}
		i += 1 + int(skip)
		fn(i)
	}
}

package main

import (
	"math/rand/v2"
	"time"
)

// runFlood simulates the baseline: a symmetric random overlay of 5–6
// neighbours per member (each member wants 5 or 6 friends, drawn at random,
// and befriends random members that still want more, like the friendship
// protocol of go-distributed/gossip_simulator), and every member forwards a
// broadcast once, to all its neighbours, when it first receives it. No repair.
// The overlay is each member's partial view (a link is known at both ends),
// so -view-miss and joins do not touch it; a member only skips a neighbour
// it knows is dead (-view-lag).
func runFlood(sc *scenario, seed uint64) *runStats {
	const fanin = 6
	r := rand.New(rand.NewPCG(seed, 1<<61))
	neighbours := make([][fanin]int32, sc.n)
	degree := make([]uint8, sc.n)
	want := make([]uint8, sc.n)
	for i := range want {
		want[i] = uint8(5 + r.IntN(2))
	}
	linked := func(i, j int) bool {
		for _, x := range neighbours[i][:degree[i]] {
			if x == int32(j) {
				return true
			}
		}
		return false
	}
	// First everyone befriends members that want more friends; then the few
	// left with fewer than 5 (the last ones find most members full) take
	// any member with room for a sixth, so no member is left isolated.
	for pass, limit := range [2]func(j int) uint8{
		func(j int) uint8 { return want[j] },
		func(int) uint8 { return fanin },
	} {
		for i := range neighbours {
			maxTries := []int{1000, 100 * sc.n}[pass]
			for tries := 0; degree[i] < min(want[i], uint8(5+1-pass)) && tries < maxTries; tries++ {
				j := r.IntN(sc.n)
				if j == i || degree[j] >= limit(j) || linked(i, j) {
					continue
				}
				neighbours[i][degree[i]], neighbours[j][degree[j]] = int32(j), int32(i)
				degree[i]++
				degree[j]++
			}
		}
	}
	nw := newNetwork(sc, rand.New(rand.NewPCG(seed, 1<<60)))
	if nw.tcp != nil && sc.dialAhead {
		// A flooding daemon would hold its fixed neighbours' connections
		// open too.
		for i := range neighbours {
			for _, j := range neighbours[i][:degree[i]] {
				nw.tcp.opened(int32(i), j)
			}
		}
	}

	st := newRunStats(sc)
	// With -warm, broadcast 0 is the unmeasured one, warmGap earlier.
	total, first := sc.broadcasts, 0
	if sc.warm {
		total, first = total+1, 1
	}
	startOf := func(b int) time.Duration {
		if sc.warm && b == 0 {
			return 0
		}
		return sc.firstMeasured() + time.Duration(b-first)*sc.spacing
	}
	delivered := make([]time.Duration, sc.n*total)
	hops := make([]int32, sc.n*total)
	var q queue
	for b := range total {
		q.push(event{at: startOf(b), kind: evBroadcast, to: sc.origin, from: int32(b), hops: -1})
	}
	for {
		e, ok := q.pop()
		if !ok {
			break
		}
		if sc.crashed[e.to] {
			continue
		}
		// For flooding, from carries the broadcast number on every event.
		b := int(e.from)
		k := b*sc.n + int(e.to)
		if delivered[k] != 0 {
			continue
		}
		delivered[k] = e.at - startOf(b) + 1
		hops[k] = e.hops + 1
		view := sc.view(int(e.to))
		for _, j := range neighbours[e.to][:degree[e.to]] {
			if sc.crashed[j] && view != sc.base && !view.Contains(sc.ids[j]) {
				continue // a neighbour it knows is dead
			}
			if b >= first {
				st.payload++
				st.sends[e.to]++
			}
			if at, ok := nw.send(e.at, e.to, j); ok {
				q.push(event{at: at, kind: evMessage, to: j, from: int32(b), hops: e.hops + 1})
			}
		}
	}
	st.collect(sc, delivered[first*sc.n:], hops[first*sc.n:])
	return st
}

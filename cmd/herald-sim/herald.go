package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// scenario is what one run simulates; both algorithms get the same one.
type scenario struct {
	n          int
	link       linkModel
	crashed    []bool // crashed but not detected: they receive nothing, send nothing
	origin     int32
	broadcasts int
	spacing    time.Duration
	payload    []byte
}

// runHerald simulates the plumtree protocol: every member runs a
// plumtree.Node on one shared membership view. Crashed members are still in
// every view — the failure detector has not noticed them.
func runHerald(sc *scenario, cfg func(plumtree.NodeID, *rand.Rand) plumtree.Config, seed uint64) *runStats {
	ids := make([]plumtree.NodeID, sc.n)
	index := make(map[plumtree.NodeID]int32, sc.n)
	for i := range ids {
		ids[i] = plumtree.NodeID(fmt.Sprintf("m%06d", i))
		index[ids[i]] = int32(i)
	}
	view := plumtree.NewView(ids)
	nodes := make([]*plumtree.Node, sc.n)
	for i := range nodes {
		nodes[i] = plumtree.New(cfg(ids[i], rand.New(rand.NewPCG(seed, uint64(i)))))
		nodes[i].SetView(view)
	}
	net := rand.New(rand.NewPCG(seed, 1<<62))
	link := sc.link
	link.reset(sc.n)

	st := newRunStats(sc)
	start := make([]time.Duration, sc.broadcasts)
	delivered := make([]time.Duration, sc.n*sc.broadcasts) // 0 = not yet
	hops := make([]int32, sc.n*sc.broadcasts)
	nextTick := make([]time.Duration, sc.n) // pending tick event, −1 if none
	for i := range nextTick {
		nextTick[i] = -1
	}

	var q queue
	for b := range sc.broadcasts {
		q.push(event{at: time.Duration(b) * sc.spacing, kind: evBroadcast, to: sc.origin, hops: int32(b)})
	}
	drain := func(i int32, now time.Duration) {
		node := nodes[i]
		out, dels := node.Ready()
		for _, env := range out {
			if env.Msg.Kind.IsPayload() {
				st.payload++
			} else {
				st.control++
			}
			st.sends[i]++
			to := index[env.To]
			if d, ok := link.send(net, to); ok {
				q.push(event{at: now + d, kind: evMessage, to: to, from: i, msg: env.Msg})
			}
		}
		for _, d := range dels {
			b := int(d.ID.Seq) - 1
			k := b*sc.n + int(i)
			delivered[k] = now - start[b] + 1 // +1: 0 means "not delivered"
			hops[k] = int32(d.Hops)
		}
		if at, ok := node.NextDeadline(); ok && (nextTick[i] < now || at < nextTick[i]) {
			at = max(at, now)
			nextTick[i] = at
			q.push(event{at: at, kind: evTick, to: i})
		}
	}
	for {
		e, ok := q.pop()
		if !ok {
			break
		}
		if sc.crashed[e.to] {
			continue
		}
		node := nodes[e.to]
		node.Tick(e.at)
		switch e.kind {
		case evBroadcast:
			start[e.hops] = e.at
			node.Broadcast(sc.payload)
		case evMessage:
			node.Step(e.msg)
		case evTick:
			if nextTick[e.to] == e.at {
				nextTick[e.to] = -1
			}
		}
		drain(e.to, e.at)
	}
	st.collect(sc, delivered, hops)
	return st
}

func newRunStats(sc *scenario) *runStats {
	return &runStats{sends: make([]int64, sc.n), members: sc.n, broadcasts: sc.broadcasts}
}

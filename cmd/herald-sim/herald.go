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
	ids        []plumtree.NodeID // sorted: member i is ids[i]
	base       *plumtree.View    // every member
	views      []*plumtree.View  // each member's view; nil: all are base
	link       linkModel
	tcp        bool          // -link tcp: a connection per ordered pair
	dialAhead  bool          // -dial ahead: connections along the links are held open (predial.go)
	lag        time.Duration // -view-lag
	sendCost   time.Duration // -send-cost: a member's sends leave one after another
	crashed    []bool        // they receive nothing, send nothing
	joins      []join        // -view-lag's joiners, who Announce themselves
	warmup     time.Duration // the measured broadcasts start this late (joins, -warm)
	warm       bool          // -warm: one unmeasured broadcast warmGap before them
	origin     int32
	broadcasts int
	spacing    time.Duration
	payload    []byte
}

// view is member i's membership view.
func (sc *scenario) view(i int) *plumtree.View {
	if sc.views == nil {
		return sc.base
	}
	return sc.views[i]
}

// warmGap separates -warm's unmeasured broadcast from the measured ones:
// its repairs and anti-entropy are over by then, its TCP connections open.
const warmGap = 2 * time.Second

// firstMeasured is when the first measured broadcast starts.
func (sc *scenario) firstMeasured() time.Duration {
	if sc.warm {
		return max(sc.warmup, warmGap)
	}
	return sc.warmup
}

func memberIDs(n int) []plumtree.NodeID {
	ids := make([]plumtree.NodeID, n)
	for i := range ids {
		ids[i] = plumtree.NodeID(fmt.Sprintf("m%06d", i))
	}
	return ids
}

// runHerald simulates the plumtree protocol: every member runs a
// plumtree.Node on its own membership view (see viewModel). Crashed
// members stay in the views of members that have not heard of the crash.
func runHerald(sc *scenario, cfg func(plumtree.NodeID, *rand.Rand) plumtree.Config, seed uint64) *runStats {
	ids := sc.ids
	index := make(map[plumtree.NodeID]int32, sc.n)
	for i, id := range ids {
		index[id] = int32(i)
	}
	nodes := make([]*plumtree.Node, sc.n)
	for i := range nodes {
		nodes[i] = plumtree.New(cfg(ids[i], rand.New(rand.NewPCG(seed, uint64(i)))))
		nodes[i].SetView(sc.view(i))
	}
	nw := newNetwork(sc, rand.New(rand.NewPCG(seed, 1<<62)))

	st := newRunStats(sc)
	start := make([]time.Duration, sc.broadcasts)
	delivered := make([]time.Duration, sc.n*sc.broadcasts) // 0 = not yet
	hops := make([]int32, sc.n*sc.broadcasts)
	nextTick := make([]time.Duration, sc.n) // pending tick event, −1 if none
	for i := range nextTick {
		nextTick[i] = -1
	}

	var q queue
	t0 := sc.firstMeasured()
	if sc.warm {
		q.push(event{at: t0 - warmGap, kind: evBroadcast, to: sc.origin, hops: -1})
	}
	for b := range sc.broadcasts {
		q.push(event{at: t0 + time.Duration(b)*sc.spacing, kind: evBroadcast, to: sc.origin, hops: int32(b)})
	}
	for _, j := range sc.joins {
		q.push(event{at: t0 + j.at, kind: evAnnounce, to: j.member})
	}
	var dialer *dialAhead
	if nw.tcp != nil && sc.dialAhead {
		// The origin is a feeder: it broadcasts a heartbeat at least every
		// second, so its own pushes are among its links already.
		nodes[sc.origin].Originate()
		dialer = newDialAhead(sc, nw.tcp, nodes, index, seed, func(at time.Duration, from, to int32) {
			q.push(event{at: at, kind: evDial, to: from, from: to})
		})
	}
	seqOffset := 1 // broadcast b has sequence number b+seqOffset
	if sc.warm {
		seqOffset = 2
	}
	drain := func(i int32, now time.Duration) {
		node := nodes[i]
		out, dels := node.Ready()
		for _, env := range out {
			if now < t0 {
				// Joins and the warm-up broadcast come before the measured
				// broadcasts: not counted per broadcast, but they cross
				// the network (and open connections).
				if env.Msg.Kind == plumtree.Hello {
					st.hello++
				}
				if at, ok := nw.send(now, i, index[env.To]); ok {
					q.push(event{at: at, kind: evMessage, to: index[env.To], from: i, msg: env.Msg})
				}
				continue
			}
			if env.Msg.Kind == plumtree.Hello {
				st.hello++ // per join, not per broadcast: counted apart
			} else if env.Msg.Kind.IsPayload() {
				st.payload++
			} else {
				st.control++
			}
			st.sends[i]++
			to := index[env.To]
			if at, ok := nw.send(now, i, to); ok {
				q.push(event{at: at, kind: evMessage, to: to, from: i, msg: env.Msg})
			}
		}
		for _, d := range dels {
			if sc.crashed[i] {
				st.crashedDelivered++
			}
			b := int(d.ID.Seq) - seqOffset
			if b < 0 {
				continue
			}
			k := b*sc.n + int(i)
			delivered[k] = now - start[b] + 1 // +1: 0 means "not delivered"
			hops[k] = int32(d.Hops)
		}
		if dialer != nil {
			dialer.update(i, now)
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
			if e.hops >= 0 {
				start[e.hops] = e.at
			}
			node.Broadcast(sc.payload)
		case evMessage:
			node.Step(e.msg)
		case evAnnounce:
			node.Announce()
		case evDial:
			nw.tcp.dial(e.at, e.to, e.from)
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

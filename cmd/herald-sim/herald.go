package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// scenario is what one run simulates; both algorithms get the same one.
type scenario struct {
	n             int
	ids           []plumtree.NodeID // sorted: member i is ids[i]
	base          *plumtree.View    // every member
	views         []*plumtree.View  // each member's view; nil: all are base
	link          linkModel
	tcp           bool          // -link tcp: a connection per ordered pair
	dialAhead     bool          // -dial ahead: connections along the links are held open (predial.go)
	carriers      float64       // -carriers: packets sent anyway per member and second (carrier.go)
	piggybackWait time.Duration // -piggyback-wait
	lag           time.Duration // -view-lag
	sendCost      time.Duration // -send-cost: a member's sends leave one after another
	crashed       []bool        // they receive nothing, send nothing
	joins         []join        // -view-lag's joiners, who Announce themselves
	warmup        time.Duration // the measured broadcasts start this late (joins, -warm)
	warm          bool          // -warm: one unmeasured broadcast warmGap before them
	origin        int32
	broadcasts    int
	spacing       time.Duration
	payload       []byte
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
	var cr *carriers
	if sc.carriers > 0 {
		cr = newCarriers(sc, seed)
	}
	// send puts one message on the network, counting it unless it belongs
	// to what comes before the measured broadcasts (joins, -warm).
	send := func(i int32, env plumtree.Envelope, now time.Duration) {
		switch {
		case env.Msg.Kind == plumtree.Hello:
			st.hello++ // per join, not per broadcast: counted apart
			if now >= t0 {
				st.sends[i]++
			}
		case now < t0:
			// The warm-up broadcast: not counted per broadcast, but it
			// crosses the network (and opens connections).
		case env.Msg.Kind.IsPayload():
			st.payload++
			st.sends[i]++
		default:
			st.control++
			st.sends[i]++
		}
		to := index[env.To]
		if at, ok := nw.send(now, i, to); ok {
			q.push(event{at: at, kind: evMessage, to: to, from: i, msg: env.Msg})
		}
	}
	drain := func(i int32, now time.Duration) {
		node := nodes[i]
		out, dels := node.Ready()
		for _, env := range out {
			if cr != nil && env.Piggyback {
				schedule, deadline := cr.hold(i, env, now)
				if schedule {
					q.push(event{at: cr.next(i, now), kind: evCarrier, to: i})
				}
				q.push(event{at: deadline, kind: evExpire, to: i})
				continue
			}
			send(i, env, now)
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
		case evCarrier:
			to, msgs, first, more := cr.take(e.to)
			if e.at >= t0 {
				st.carried += int64(first)
			}
			if more {
				q.push(event{at: cr.next(e.to, e.at+1), kind: evCarrier, to: e.to})
			}
			if d, ok := nw.link.draw(nw.r, to); ok {
				for _, m := range msgs {
					q.push(event{at: e.at + d, kind: evMessage, to: to, from: e.to, msg: m})
				}
			}
		case evExpire:
			for _, env := range cr.expired(e.to, e.at) {
				send(e.to, env, e.at)
			}
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

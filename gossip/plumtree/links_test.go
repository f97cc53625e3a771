package plumtree

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// linksConfig has three-hop trees at 400 members (f = 8), a lazy peer and
// two digest rounds, and a graft timeout no eager copy outlasts: with no
// loss, every message of a broadcast goes over a link of the design.
func linksConfig(layout Layout) func(NodeID, int) Config {
	return func(id NodeID, i int) Config {
		c := DefaultConfig(id, rand.New(rand.NewPCG(uint64(i), 7)))
		c.Layout = layout
		c.EagerFanout = 8
		c.EagerRedundancy = 2
		c.MaxLazy = 1
		c.GraftTimeout = time.Second
		return c
	}
}

// sentPairs runs one broadcast from origin to quiet, without loss (links of
// 1–20 ms), and returns who sent what kind of message to whom.
func sentPairs(nodes []*Node, index map[NodeID]int, origin int, now time.Duration, observe ...func(Envelope)) (map[[2]NodeID][]Kind, time.Duration) {
	r := rand.New(rand.NewPCG(uint64(now), 11))
	type ev struct {
		at  time.Duration
		to  int
		msg *Message
	}
	var q []ev
	sent := map[[2]NodeID][]Kind{}
	drain := func(i int, at time.Duration) {
		out, _ := nodes[i].Ready()
		for _, e := range out {
			for _, f := range observe {
				f(e)
			}
			msg := e.Msg
			sent[[2]NodeID{msg.From, e.To}] = append(sent[[2]NodeID{msg.From, e.To}], msg.Kind)
			q = append(q, ev{at + time.Duration(1+r.IntN(20))*time.Millisecond, index[e.To], &msg})
		}
		if d, ok := nodes[i].NextDeadline(); ok {
			q = append(q, ev{max(d, at), i, nil})
		}
	}
	nodes[origin].Tick(now)
	nodes[origin].Broadcast([]byte("x"))
	drain(origin, now)
	for len(q) > 0 {
		k := 0
		for j := range q {
			if q[j].at < q[k].at {
				k = j
			}
		}
		e := q[k]
		q = slices.Delete(q, k, k+1)
		now = max(now, e.at)
		nodes[e.to].Tick(now)
		if e.msg != nil {
			nodes[e.to].Step(*e.msg)
		}
		drain(e.to, now)
	}
	return sent, now
}

func linksFleet(n int, cfg func(NodeID, int) Config) ([]*Node, map[NodeID]int) {
	ids := make([]NodeID, n)
	index := map[NodeID]int{}
	for i := range ids {
		ids[i] = NodeID(fmt.Sprintf("l%04d", i))
		index[ids[i]] = i
	}
	view := NewView(ids)
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = New(cfg(ids[i], i))
		nodes[i].SetView(view)
	}
	return nodes, index
}

// TestLinksCoverEveryMessageOfABroadcast: every message a broadcast sends
// without repair (the eager copies, the IHave, the digests) goes over a
// link that its sender's Links listed before the broadcast, for a second
// broadcast of an origin (both layouts) and for an origin's first one (the
// ring layout, whose trees do not depend on the origin but for its place),
// except the origin's own sends: a member lists those once it has
// broadcast.
// Links are few: a member has a handful, not the view.
func TestLinksCoverEveryMessageOfABroadcast(t *testing.T) {
	const n = 400
	for _, tc := range []struct {
		name    string
		layout  Layout
		warm    bool  // one broadcast from the origin before Links is read
		orig    bool  // the origin calls Originate before Links is read
		origins []int // one run each, on a fresh fleet
	}{
		{"ring/first-broadcast", LayoutRing, false, false, []int{0, 17, 123, 200, 256, 311, 399}},
		{"ring/first-broadcast-originated", LayoutRing, false, true, []int{17, 311}},
		{"ring/second-broadcast", LayoutRing, true, false, []int{123}},
		{"heap/second-broadcast", LayoutHeap, true, false, []int{123}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, origin := range tc.origins {
				checkLinksCover(t, n, tc.layout, origin, tc.warm, tc.orig)
			}
		})
	}
}

func checkLinksCover(t *testing.T, n int, layout Layout, origin int, warm, originate bool) {
	nodes, index := linksFleet(n, linksConfig(layout))
	var now time.Duration
	if warm {
		_, now = sentPairs(nodes, index, origin, 0)
		now += time.Second
	}
	if originate {
		nodes[origin].Originate()
	}
	links := make(map[[2]NodeID]bool)
	total := 0
	for _, node := range nodes {
		ls := node.Links()
		total += len(ls)
		for _, to := range ls {
			if to == node.cfg.ID {
				t.Fatalf("%s lists itself", to)
			}
			links[[2]NodeID{node.cfg.ID, to}] = true
		}
	}
	sent, _ := sentPairs(nodes, index, origin, now)
	kinds := map[Kind]int{}
	for pair, ks := range sent {
		for _, k := range ks {
			kinds[k]++
			switch {
			case k == Graft || k == Prune:
				t.Errorf("origin %d: %s→%s: a %v in a broadcast without loss", origin, pair[0], pair[1], k)
			case !warm && !originate && pair[0] == nodes[origin].cfg.ID:
			case !links[pair]:
				t.Errorf("origin %d: %s→%s: %v over a link its sender's Links did not list", origin, pair[0], pair[1], k)
			}
		}
	}
	if kinds[Gossip] < n-1 || kinds[IHave] == 0 || kinds[Digest] == 0 {
		t.Fatalf("origin %d: the broadcast sent %v: expected copies, IHave and digests", origin, kinds)
	}
	if mean := float64(total) / float64(n); mean > 40 {
		t.Errorf("%.1f links per member: Links should list the design's links, not the view", mean)
	}
	t.Logf("origin %d: %d links (%.1f per member); broadcast sent %v", origin, total, float64(total)/float64(n), kinds)
}

// TestLinksVersion: the version moves when the view changes or a new
// origin appears, and stays while nothing Links depends on changes.
func TestLinksVersion(t *testing.T) {
	nodes, index := linksFleet(50, linksConfig(LayoutRing))
	a := nodes[7]
	v0 := a.LinksVersion()
	_, now := sentPairs(nodes, index, 3, 0)
	v1 := a.LinksVersion()
	if v1 == v0 {
		t.Fatalf("version %d did not move after a message from a new origin", v1)
	}
	sentPairs(nodes, index, 3, now+time.Second)
	if v := a.LinksVersion(); v != v1 {
		t.Fatalf("version moved from %d to %d on a second message of a known origin", v1, v)
	}
	a.PeerDown(nodes[9].cfg.ID)
	v2 := a.LinksVersion()
	if v2 == v1 {
		t.Fatalf("version %d did not move when a peer went down", v2)
	}
	before := len(a.Links())
	a.Originate()
	if v := a.LinksVersion(); v == v2 {
		t.Fatalf("version %d did not move on Originate", v)
	}
	if after := len(a.Links()); after <= before {
		t.Fatalf("Originate: %d links, %d before: want the origin's own pushes added", after, before)
	}
}

package plumtree

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func ringConfig(id NodeID, i int) Config {
	c := DefaultConfig(id, rand.New(rand.NewPCG(uint64(i), 3)))
	c.Layout = LayoutRing
	c.EagerFanout = 8
	c.EagerRedundancy = 2
	c.MaxLazy = 0 // flood() never ticks: no IHave or digest round is sent
	return c
}

// ringFleet builds n ring-layout nodes; view(i) gives node i's view.
func ringFleet(n int, view func(i int, all []NodeID) *View) ([]*Node, map[NodeID]int, []NodeID) {
	ids := make([]NodeID, n)
	index := map[NodeID]int{}
	for i := range ids {
		ids[i] = NodeID(fmt.Sprintf("r%05d", i))
		index[ids[i]] = i
	}
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = New(ringConfig(ids[i], i))
		nodes[i].SetView(view(i, ids))
	}
	return nodes, index, ids
}

// flood delivers every message in FIFO order, without loss, until none is
// left, and returns the Gossip copies each node received and from whom.
func flood(nodes []*Node, index map[NodeID]int, start int) (copies []int, senders [][]NodeID, maxHops int) {
	type inflight struct {
		to  int
		msg Message
	}
	copies, senders = make([]int, len(nodes)), make([][]NodeID, len(nodes))
	var queue []inflight
	drain := func(i int) {
		out, dels := nodes[i].Ready()
		for _, d := range dels {
			maxHops = max(maxHops, d.Hops)
		}
		for _, e := range out {
			queue = append(queue, inflight{index[e.To], e.Msg})
		}
	}
	nodes[start].Broadcast([]byte("x"))
	drain(start)
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		if m.msg.Kind == Gossip {
			copies[m.to]++
			senders[m.to] = append(senders[m.to], m.msg.From)
		}
		nodes[m.to].Step(m.msg)
		drain(m.to)
	}
	return copies, senders, maxHops
}

// TestRingTreesOneCopyPerTree: with shared views and no loss, every member
// gets one copy per tree, from as many different parents, within L+1 hops
// — one fewer when its parent in a tree had the message from it (a member
// does not send a message back to the member it came from).
func TestRingTreesOneCopyPerTree(t *testing.T) {
	const n = 3000
	base := (*View)(nil)
	nodes, index, _ := ringFleet(n, func(_ int, all []NodeID) *View {
		if base == nil {
			base = NewView(all)
		}
		return base
	})
	for _, origin := range []int{0, 1234, n - 1} {
		copies, senders, hops := flood(nodes, index, origin)
		distinct, short := 0, 0
		for i, c := range copies {
			if i == origin {
				continue
			}
			if c < 2 || c > 3 {
				t.Fatalf("origin %d: member %d got %d copies, want 3 (one per tree)", origin, i, c)
			}
			if c == 2 {
				short++
			}
			if s := slices.Compact(slices.Sorted(slices.Values(senders[i]))); len(s) == 3 {
				distinct++
			}
		}
		if short > (n-1)/100 {
			t.Errorf("origin %d: %d members got two copies, want few", origin, short)
		}
		if distinct < (n-1)*95/100 {
			t.Errorf("origin %d: only %d of %d members have three different parents", origin, distinct, n-1)
		}
		if want := nodes[0].ring.levels + 1; hops > want {
			t.Errorf("origin %d: a copy took %d hops, more than L+1 = %d", origin, hops, want)
		}
	}
}

// TestRingTreesHoldWhenViewsDiffer: each member's view lacks its own
// random 2 % of the others. Without loss, the trees alone still reach every
// member, nearly all three times: a view difference moves only what
// touches the members it concerns (the heap layout reshuffles its trees).
func TestRingTreesHoldWhenViewsDiffer(t *testing.T) {
	const n = 3000
	r := rand.New(rand.NewPCG(9, 9))
	var base *View
	nodes, index, _ := ringFleet(n, func(i int, all []NodeID) *View {
		if base == nil {
			base = NewView(all)
		}
		var absent []NodeID
		for range n / 50 {
			if j := r.IntN(n); j != i {
				absent = append(absent, all[j])
			}
		}
		return base.Without(absent)
	})
	copies, _, _ := flood(nodes, index, 42)
	three := 0
	for i, c := range copies {
		if i == 42 {
			continue
		}
		if c == 0 {
			t.Errorf("member %d got no copy", i)
		}
		if c >= 3 {
			three++
		}
	}
	if three < (n-1)*95/100 {
		t.Errorf("only %d of %d members got all three copies", three, n-1)
	}
}

// unknownJoinerFleet is a ring fleet of n in which only the joiner's own
// view holds the joiner.
func unknownJoinerFleet(n, joiner int) ([]*Node, map[NodeID]int, []NodeID) {
	var base, others *View
	return ringFleet(n, func(i int, all []NodeID) *View {
		if base == nil {
			base = NewView(all)
			others = base.Without([]NodeID{all[joiner]})
		}
		if i == joiner {
			return base
		}
		return others
	})
}

// TestAnnounceReachesUnknownJoiner: a member that no other view holds gets
// nothing from the trees until it announces itself; then each parent sends
// it a digest of what it missed and pushes to it in every tree.
func TestAnnounceReachesUnknownJoiner(t *testing.T) {
	const n, joiner = 500, 321
	nodes, index, ids := unknownJoinerFleet(n, joiner)
	copies, _, _ := flood(nodes, index, 0)
	if copies[joiner] != 0 {
		t.Fatalf("the unknown joiner got %d copies before announcing", copies[joiner])
	}
	nodes[joiner].Announce()
	out, _ := nodes[joiner].Ready()
	if len(out) == 0 || len(out) > 3 {
		t.Fatalf("Announce sent %d messages, want 1–3 (a Hello per tree parent)", len(out))
	}
	for _, e := range out {
		if e.Msg.Kind != Hello {
			t.Fatalf("Announce sent %v", e.Msg)
		}
		parent := nodes[index[e.To]]
		parent.Step(e.Msg)
		if !parent.View().Contains(ids[joiner]) {
			t.Fatalf("%s did not learn the joiner from its Hello", e.To)
		}
		// The broadcast it missed is named in a welcome digest.
		welcome, _ := parent.Ready()
		if len(welcome) != 1 || welcome[0].Msg.Kind != Digest || welcome[0].To != ids[joiner] ||
			welcome[0].Msg.Ranges[0] != (SeqRange{ids[0], 1, 1}) {
			t.Fatalf("%s answered the Hello with %v, want a digest of %s/[1..1]", e.To, welcome, ids[0])
		}
	}
	copies, _, _ = flood(nodes, index, 0)
	if copies[joiner] != 3 {
		t.Errorf("after announcing, the joiner got %d copies, want 3", copies[joiner])
	}
}

// TestLateHelloIsWelcomed: a joiner whose Hello reaches its parents after
// the broadcast's digest rounds are over (its connection's SYN was lost: a
// second late) is still told of the broadcast it missed, and grafts it.
func TestLateHelloIsWelcomed(t *testing.T) {
	const n, joiner = 500, 321
	nodes, index, ids := unknownJoinerFleet(n, joiner)
	if copies, _, _ := flood(nodes, index, 0); copies[joiner] != 0 {
		t.Fatalf("the unknown joiner got %d copies before announcing", copies[joiner])
	}
	// Let every member's digest rounds run out (their digests are lost:
	// only the rounds' end matters here).
	for step := 1; step <= 20; step++ {
		for _, node := range nodes {
			node.Tick(time.Duration(step) * 100 * time.Millisecond)
			node.Ready()
		}
	}
	now := 2 * time.Second
	nodes[joiner].Tick(now)
	nodes[joiner].Announce()
	hellos, _ := nodes[joiner].Ready()
	if len(hellos) == 0 {
		t.Fatal("Announce sent nothing")
	}
	parent := nodes[index[hellos[0].To]]
	parent.Tick(now)
	parent.Step(hellos[0].Msg)
	welcome, _ := parent.Ready()
	if len(welcome) != 1 || welcome[0].Msg.Kind != Digest || len(welcome[0].Msg.Ranges) != 1 ||
		welcome[0].Msg.Ranges[0] != (SeqRange{ids[0], 1, 1}) {
		t.Fatalf("%s answered a Hello after the rounds with %v, want a digest of %s/[1..1]", hellos[0].To, welcome, ids[0])
	}
	j := nodes[joiner]
	j.Step(welcome[0].Msg)
	j.Tick(now + time.Second)
	grafts, _ := j.Ready()
	if len(grafts) != 1 || grafts[0].Msg.Kind != Graft || grafts[0].To != hellos[0].To {
		t.Fatalf("the joiner sent %v after the welcome, want a Graft to %s", grafts, hellos[0].To)
	}
	parent.Step(grafts[0].Msg)
	answer, _ := parent.Ready()
	var payload []Envelope
	for _, e := range answer {
		if e.Msg.Kind == Gossip && e.To == ids[joiner] {
			payload = append(payload, e)
		}
	}
	if len(payload) != 1 {
		t.Fatalf("%s answered the graft with %v", hellos[0].To, answer)
	}
	j.Step(payload[0].Msg)
	if _, dels := j.Ready(); len(dels) != 1 || dels[0].ID != (MessageID{ids[0], 1}) {
		t.Fatalf("the joiner delivered %v, want %s/1", dels, ids[0])
	}
}

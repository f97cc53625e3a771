package plumtree

import (
	"cmp"
	"slices"
)

// Links returns the members this node sends to when nothing needs repair,
// sorted, without duplicates and without this node: its children in every
// tree of a broadcast by another member or, once it has broadcast, by
// itself (a fleet's origins are its feeders; the others need not hold
// connections to the 37 × 4 members an origin pushes to), its lazy peers
// (IHave) and its anti-entropy peers (Digest).
//
// A transport opens connections to them ahead of use (gossip/transport's
// TCP.Keep): a connection set up on first use delays the first message by
// a round trip, and by the initial RTO of a second when the SYN is lost,
// which is what kept t99.9 above 100 ms with TCP links in herald-sim.
//
// The ring layout's trees are the same for every origin except where the
// origin itself sits: it is skipped as a representative. Only an origin
// that represents an arc holding this node, or one of the sub-arcs it
// covers, changes this node's part of a tree, so Links covers a broadcast
// by any member: by one outside those arcs, by each of those
// representatives, and by this node. The heap layout's trees are relative
// to the origin: Links covers the linkOrigins origins (this node among
// them) it delivered from most recently. LinksVersion says when to ask
// again.
func (n *Node) Links() []NodeID {
	var out []NodeID
	add := func(id NodeID) {
		if id != n.cfg.ID {
			out = append(out, id)
		}
	}
	if n.ring != nil {
		if self, ok := n.view.base.index[n.cfg.ID]; ok && n.view.hasBase(self) {
			for _, o := range n.ringOrigins(self) {
				n.ringLinks(self, o, add)
			}
		}
	} else if n.self >= 0 {
		origins := n.recentOrigins(linkOrigins)
		if n.origin && !slices.Contains(origins, n.cfg.ID) {
			origins = append(origins, n.cfg.ID)
		}
		for _, o := range origins {
			oi := n.originIndex(o)
			for c := 0; c < n.ov.trees; c++ {
				n.ov.children(oi, n.self, c, func(i int) { add(n.view.Member(i)) })
			}
		}
	}
	if n.self >= 0 {
		n.ov.lazyPeers(n.self, func(i int) { add(n.view.Member(i)) })
		for r := range n.ov.digest {
			add(n.view.Member(n.ov.digestPeer(n.self, uint64(r))))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Originate declares that this node will broadcast: Links lists its own
// pushes from now on, as it does once it has broadcast. A herald's feeder
// reaches that state with its first heartbeat (it broadcasts at least every
// second); the simulator uses Originate for an origin that is such a feeder.
func (n *Node) Originate() {
	if !n.origin {
		n.origin = true
		n.linksVersion++
	}
}

// originates reports whether this node broadcasts (Originate, or it has).
func (n *Node) originates() bool {
	_, ok := n.seen.origins[n.cfg.ID]
	return ok || n.origin
}

// ringOrigins are the origins whose ring trees differ where this node sits
// ("" stands for every other origin): the representatives above it and of
// the sub-arcs it covers, in a tree of an origin outside them, and this
// node if it broadcasts.
func (n *Node) ringOrigins(self int32) []NodeID {
	origins := []NodeID{""}
	if n.originates() {
		origins = append(origins, n.cfg.ID)
	}
	for tc := range n.ring.trees {
		t := n.ringTree(tc, "")
		l, a, above := t.role(self)
		for _, r := range above[1:] {
			origins = append(origins, n.view.base.members[r])
		}
		if l < n.ring.levels {
			t.cover(self, l, a, above, func(b int32, _ ArcRef) { origins = append(origins, n.view.base.members[b]) })
		}
	}
	slices.Sort(origins)
	return slices.Compact(origins)
}

// LinksVersion changes whenever Links may have changed: the view changed
// (SetView, PeerDown, a Hello from a member the view lacked) or a message
// came from an origin not seen before (this node's first broadcast too).
func (n *Node) LinksVersion() uint64 { return n.linksVersion }

// linkOrigins bounds the origins whose heap-layout trees Links covers: a
// fleet's origins are its one or two feeders per topic.
const linkOrigins = 4

// ringLinks calls add with every member this node pushes to in the ring
// trees of a broadcast by origin ("": an origin that represents no arc
// this node's part of the trees depends on).
func (n *Node) ringLinks(self int32, origin NodeID, add func(NodeID)) {
	for tc := range n.ring.trees {
		t := n.ringTree(tc, origin)
		if l, a, above := t.role(self); l <= n.ring.levels {
			t.cover(self, l, a, above, func(b int32, _ ArcRef) { add(n.view.base.members[b]) })
		}
	}
}

// recentOrigins returns up to k origins, the most recently active first.
func (n *Node) recentOrigins(k int) []NodeID {
	type entry struct {
		id   NodeID
		used uint64
	}
	var all []entry
	for id, w := range n.seen.origins {
		all = append(all, entry{id, w.lastUsed})
	}
	slices.SortFunc(all, func(a, b entry) int {
		return cmp.Or(cmp.Compare(b.used, a.used), cmp.Compare(a.id, b.id))
	})
	out := make([]NodeID, 0, min(k, len(all)))
	for _, e := range all[:min(k, len(all))] {
		out = append(out, e.id)
	}
	return out
}

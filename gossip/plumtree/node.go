package plumtree

import (
	"fmt"
	"slices"
	"time"
)

// Node is one member's protocol state. It is not safe for concurrent use:
// the driver calls every method from one goroutine (or holds a lock), the
// way etcd-io/raft's RawNode is driven. No method blocks or does I/O.
type Node struct {
	cfg  Config
	view *View
	self int // position in view, −1 while the view does not contain cfg.ID
	ov   *overlay
	ring *ringLayout // LayoutRing's trees, nil with LayoutHeap

	now     time.Duration
	nextSeq uint64

	seen    seenSet
	cache   payloadCache
	missing missingSet

	pending []MessageID // delivered since the last IHave flush
	flushAt time.Duration

	aeArmed bool          // digest rounds are running
	aeAt    time.Duration // next digest round
	aeSince time.Duration // previous round, or when the rounds started
	aeRound uint64        // digests sent: picks the round's peer

	msgs       []Envelope
	deliveries []Delivery

	linksVersion uint64 // see LinksVersion
	origin       bool   // Originate was called

	// learned are members that introduced themselves (Hello) before the
	// membership view held them; SetView keeps them until learnTTL passes.
	learned []learnedPeer
}

type learnedPeer struct {
	id    NodeID
	until time.Duration
}

// learnTTL is how long a member that introduced itself stays in the view
// without the driver's membership confirming it: long enough for memberlist
// to spread a join (seconds), short enough that a joiner that died at once
// is not pushed to for long.
const learnTTL = 30 * time.Second

// New returns a node with an empty view (it knows only itself). It panics
// if cfg.Validate fails: a config is a programming decision, not input.
func New(cfg Config) *Node {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	n := &Node{cfg: cfg, nextSeq: 1, seen: newSeenSet(cfg.SeenWindow, cfg.SeenCapacity)}
	n.SetView(NewView([]NodeID{cfg.ID}))
	return n
}

// SetPeers replaces the membership view with peers plus this node. Call it
// on every membership change; trees are recomputed from the sorted view.
func (n *Node) SetPeers(peers []NodeID) {
	n.SetView(NewView(append(slices.Clone(peers), n.cfg.ID)))
}

// SetView installs a shared, immutable view, which should contain this
// node. Drivers that run many nodes on one view (the simulator) use it
// instead of SetPeers to keep one copy of the membership.
func (n *Node) SetView(v *View) {
	n.learned = slices.DeleteFunc(n.learned, func(p learnedPeer) bool { return p.until < n.now })
	for _, p := range n.learned {
		v = v.plus(p.id)
	}
	if n.ov == nil || n.ov.n != v.Len() {
		n.ov = newOverlay(v.Len(), &n.cfg)
		if n.cfg.Layout == LayoutRing {
			n.ring = newRingLayout(v.Len(), &n.cfg)
		}
	}
	n.view = v
	n.linksVersion++
	n.self = -1
	if i, ok := v.Index(n.cfg.ID); ok {
		n.self = i
	}
}

// View returns the current membership view.
func (n *Node) View() *View { return n.view }

// PeerDown removes id from the view, as SetPeers without it would, and
// forgets it as a repair source and as an eager link.
func (n *Node) PeerDown(id NodeID) {
	if id == n.cfg.ID {
		return
	}
	if n.view.Contains(id) {
		n.SetView(n.view.with(nil, id))
	}
	n.learned = slices.DeleteFunc(n.learned, func(p learnedPeer) bool { return p.id == id })
	n.missing.forgetSource(id)
	for _, w := range n.seen.origins {
		w.grafted = deleteID(w.grafted, id)
		w.pruned = deleteID(w.pruned, id)
	}
}

// Broadcast starts disseminating payload, delivers it locally (Hops 0) and
// returns its ID. The payload must not be modified afterwards.
func (n *Node) Broadcast(payload []byte) MessageID {
	id := MessageID{Origin: n.cfg.ID, Seq: n.nextSeq}
	n.nextSeq++
	n.see(id)
	n.deliver(id, payload, 0, "", ArcRef{})
	return id
}

// see records id as seen (see seenSet.add). An origin not seen before
// changes Links.
func (n *Node) see(id MessageID) (gapFrom, gapTo uint64) {
	if _, known := n.seen.origins[id.Origin]; !known {
		n.linksVersion++
	}
	return n.seen.add(id)
}

// Announce introduces this member to its parent in each ring-layout tree,
// as its own view places it: a member that has just joined calls it once its
// view is installed, so that its parents push to it before membership
// gossip tells them it exists (which takes seconds in a large fleet). It
// costs one Hello per tree. No-op with LayoutHeap, whose trees need the
// views to agree anyway.
func (n *Node) Announce() {
	self, ok := n.view.base.index[n.cfg.ID]
	if n.ring == nil || !ok || !n.view.hasBase(self) {
		return
	}
	var sent []NodeID
	for tc := range n.ring.trees {
		t := n.ringTree(tc, "") // any origin: parents differ only if it is one
		l, _, above := t.role(self)
		if l == 0 || len(above) == 0 {
			continue
		}
		p := above[len(above)-1]
		if p < 0 {
			continue
		}
		if to := n.view.base.members[p]; !slices.Contains(sent, to) {
			sent = append(sent, to)
			n.msgs = append(n.msgs, Envelope{To: to, Msg: Message{Kind: Hello, From: n.cfg.ID}})
		}
	}
}

// Step processes a message received from m.From. Invalid messages are
// ignored: the driver is expected to have decoded them with
// UnmarshalBinary, which rejects them.
func (n *Node) Step(m Message) {
	if m.From == n.cfg.ID || m.validate() != nil {
		return
	}
	switch m.Kind {
	case Gossip:
		n.stepGossip(m)
	case IHave:
		for _, id := range m.IDs {
			if !n.seen.has(id) {
				n.missing.add(id, m.From, n.now+n.cfg.GraftTimeout, n.cfg.MaxMissing)
			}
		}
	case Graft:
		n.stepGraft(m)
	case Digest:
		n.stepDigest(m)
	case Hello:
		if !n.view.Contains(m.From) {
			n.learned = append(n.learned, learnedPeer{m.From, n.now + learnTTL})
			n.SetView(n.view)
			n.welcome(m.From)
		}
	case Prune:
		for _, id := range m.IDs {
			if w := n.seen.origins[id.Origin]; w != nil {
				w.grafted = deleteID(w.grafted, m.From)
				w.pruned = addID(w.pruned, m.From)
			}
		}
	}
}

func (n *Node) stepGossip(m Message) {
	id := m.IDs[0]
	if n.seen.has(id) {
		if n.ring != nil && m.Arc.Level > 0 {
			// A copy naming an arc this member has not covered yet (its
			// view did not make it that arc's representative): cover it.
			if c := n.cache.get(id); c != nil {
				n.ringPush(id, c.payload, c.hops, m.From, m.Arc, false)
			}
		}
		n.onDuplicate(id, m.From)
		return
	}
	gapFrom, gapTo := n.see(id)
	n.deliver(id, m.Payload, int(m.Round), m.From, m.Arc)
	// A gap in an origin's sequence means earlier messages were lost or are
	// still in flight: wait GraftTimeout for them, then ask this sender,
	// which had the later one. This repairs a stream without any IHave.
	for seq := gapFrom; gapTo > 0 && seq <= gapTo; seq++ {
		if gid := (MessageID{id.Origin, seq}); !n.seen.has(gid) {
			n.missing.add(gid, m.From, n.now+n.cfg.GraftTimeout, n.cfg.MaxMissing)
		}
	}
}

// deliver hands a new message to the application, keeps it for grafts,
// pushes it eagerly and queues its lazy announcement.
func (n *Node) deliver(id MessageID, payload []byte, hops int, from NodeID, arc ArcRef) {
	n.deliveries = append(n.deliveries, Delivery{ID: id, Payload: payload, Hops: hops})
	if old, ok := n.cache.put(n.cfg.CacheSize, id, payload, hops, from); ok {
		n.noteEviction(old)
	}
	if w := n.seen.origins[id.Origin]; w != nil {
		n.armAntiEntropy(w)
	}
	n.missing.remove(id)
	if n.ring != nil {
		n.ringPush(id, payload, hops, from, arc, true)
		n.pushGrafted(id, payload, hops, from)
	} else {
		n.push(id, payload, hops, from)
	}
	if len(n.pending) == 0 {
		n.flushAt = n.now + n.cfg.IHaveInterval
	}
	n.pending = append(n.pending, id)
}

// push sends the payload to this node's children in every tree of the
// origin, and to members that grafted from it, minus those that pruned it.
func (n *Node) push(id MessageID, payload []byte, hops int, from NodeID) {
	msg := Message{Kind: Gossip, From: n.cfg.ID, IDs: []MessageID{id}, Payload: payload, Round: uint16(min(hops+1, 1<<16-1))}
	var grafted, pruned []NodeID
	if w := n.seen.origins[id.Origin]; w != nil {
		grafted, pruned = w.grafted, w.pruned
	}
	send := func(to NodeID) {
		if to != from && to != n.cfg.ID && !slices.Contains(pruned, to) {
			n.msgs = append(n.msgs, Envelope{To: to, Msg: msg})
		}
	}
	first := len(n.msgs)
	if n.self >= 0 {
		origin := n.originIndex(id.Origin)
		for c := 0; c < n.ov.trees; c++ {
			n.ov.children(origin, n.self, c, func(i int) { send(n.view.Member(i)) })
		}
	}
	treeSends := n.msgs[first:]
	for _, to := range grafted {
		// A member that grafted may also be a tree child: one copy.
		if !slices.ContainsFunc(treeSends, func(e Envelope) bool { return e.To == to }) {
			send(to)
		}
	}
}

// pushGrafted sends the payload to the members that grafted from this one,
// which no ring-layout tree may reach from here.
func (n *Node) pushGrafted(id MessageID, payload []byte, hops int, from NodeID) {
	w := n.seen.origins[id.Origin]
	if w == nil {
		return
	}
	msg := Message{Kind: Gossip, From: n.cfg.ID, IDs: []MessageID{id}, Payload: payload, Round: uint16(min(hops+1, 1<<16-1))}
	for _, to := range w.grafted {
		if to != from && to != n.cfg.ID && !slices.Contains(w.pruned, to) {
			n.msgs = append(n.msgs, Envelope{To: to, Msg: msg})
		}
	}
}

// originIndex is the origin's position in the view. An origin this node
// does not know yet (views differ for a moment) is placed where it would be
// inserted: the trees are then slightly wrong here, and lazy repair covers it.
func (n *Node) originIndex(origin NodeID) int {
	if i, ok := n.view.Index(origin); ok {
		return i
	}
	return n.view.insertionIndex(origin) % n.view.Len()
}

// treeParents reports whether from is this node's parent in one of the
// trees of origin (its copies are redundancy by design), and how many trees
// reach this node, i.e. how many copies it should get.
func (n *Node) treeParents(origin, from NodeID) (isParent bool, copies int) {
	if n.ring != nil {
		return n.ringParents(origin, from)
	}
	if n.self < 0 {
		return false, 0
	}
	oi := n.originIndex(origin)
	for c := 0; c < n.ov.trees; c++ {
		if p, ok := n.ov.parent(oi, n.self, c); ok {
			copies++
			isParent = isParent || n.view.Member(p) == from
		}
	}
	return isParent, copies
}

// onDuplicate prunes links that carry more copies than the designed
// redundancy. Only the copies beyond one per tree are redundant, and only a
// link that is not a tree link is pruned: the sender of this duplicate, or
// the member whose copy came first (a graft link that outran the tree).
// While a tree parent is down, the graft link that replaced it brings the
// count back to the design, so it is kept; once the failure detector
// removes the parent, the new tree parent's copies make it redundant.
func (n *Node) onDuplicate(id MessageID, from NodeID) {
	c := n.cache.get(id)
	if c == nil {
		return
	}
	c.copies++
	fromParent, expected := n.treeParents(id.Origin, from)
	if c.copies <= expected {
		return
	}
	prune := func(to NodeID) {
		n.msgs = append(n.msgs, Envelope{To: to, Msg: Message{Kind: Prune, From: n.cfg.ID, IDs: []MessageID{id}}})
	}
	if !fromParent {
		prune(from)
		return
	}
	if c.from != "" && !c.prunedFrom {
		if firstParent, _ := n.treeParents(id.Origin, c.from); !firstParent {
			c.prunedFrom = true
			prune(c.from)
		}
	}
}

func (n *Node) stepGraft(m Message) {
	for _, id := range m.IDs {
		c := n.cache.get(id)
		if c == nil {
			// Not here yet (this member is missing it too, or it is in
			// flight): the graft still makes the link eager for the origin,
			// so the grafter gets the message as soon as it is delivered
			// here. Too old (evicted): the grafter asks another source.
			if w := n.seen.origins[id.Origin]; w != nil && !n.seen.has(id) {
				w.pruned = deleteID(w.pruned, m.From)
				w.grafted = addID(w.grafted, m.From)
			}
			continue
		}
		n.msgs = append(n.msgs, Envelope{To: m.From, Msg: Message{
			Kind: Gossip, From: n.cfg.ID, IDs: []MessageID{id}, Payload: c.payload, Round: uint16(min(c.hops+1, 1<<16-1)),
		}})
		if w := n.seen.origins[id.Origin]; w != nil {
			w.pruned = deleteID(w.pruned, m.From)
			w.grafted = addID(w.grafted, m.From)
		}
	}
}

// Ready returns the messages to send and the deliveries accumulated since
// the previous call. The caller owns the returned slices; payloads are
// shared and must not be modified.
func (n *Node) Ready() (out []Envelope, deliveries []Delivery) {
	out, deliveries = n.msgs, n.deliveries
	n.msgs, n.deliveries = nil, nil
	return out, deliveries
}

// HasReady reports whether Ready would return anything.
func (n *Node) HasReady() bool { return len(n.msgs) > 0 || len(n.deliveries) > 0 }

func (n *Node) String() string {
	return fmt.Sprintf("plumtree.Node(%s, %d members)", n.cfg.ID, n.view.Len())
}

// maxLinks bounds the per-origin grafted and pruned lists.
const maxLinks = 64

func addID(ids []NodeID, id NodeID) []NodeID {
	if slices.Contains(ids, id) {
		return ids
	}
	if len(ids) >= maxLinks {
		ids = append(ids[:0], ids[1:]...)
	}
	return append(ids, id)
}

func deleteID(ids []NodeID, id NodeID) []NodeID {
	return slices.DeleteFunc(ids, func(x NodeID) bool { return x == id })
}

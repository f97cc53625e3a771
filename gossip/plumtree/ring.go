package plumtree

import (
	"hash/fnv"
	"math/bits"
	"slices"
	"sort"
)

// The ring layout (Config.Layout = LayoutRing) computes trees that hold
// when views differ. Tree c places every member at a position on a ring,
// pos_c(m) = hash(c, name of m): a function of the member's name alone, so
// two members agree on every position whatever else their views hold. The
// ring is cut into arcs by absolute boundaries — level ℓ has f^ℓ equal
// arcs, each the union of f arcs of level ℓ+1 — so the arcs do not depend
// on views either. Only who sits in an arc does, and a member missing from
// one view changes only what touches that member.
//
// The origin covers the whole ring (level 0). The representative of an arc
// is its first member by position, skipping the representatives of the
// arcs that contain it (the origin included). A representative at level
// ℓ < L sends the payload to the representatives of its f sub-arcs; one at
// level L sends it to every member of its arc. L is the smallest level at
// which arcs hold at most 1.5 f members (L = 2 for 50k members at f = 37:
// three hops). A member's depth and parent differ from tree to tree (its
// position does), so the copies of one message come over different paths,
// and a member is interior in few trees: sends are spread, not piled on the
// members of a heap's top levels.
//
// Each push names the arc the receiver is to cover (Message.Arc). A member
// forwards, on its first copy, every arc its own view makes it the
// representative of, and any arc a push names that it has not covered yet.
// So a parent whose view lacks an arc's first member hands the arc to the
// next one, and a representative that got a copy over another tree first
// covers its arc anyway: a lost link or a dead parent costs the copy of one
// tree, not the subtree below it, as long as the subtree's representative
// got the message some other way.

// ringOrder is, for one tree, the base view's members sorted by position;
// it is shared by every View derived from the base.
type ringOrder struct {
	pos   []uint64 // by base index
	order []int32  // base indices sorted by position
	keys  []uint64 // positions in that order
}

// ringCache is built on first use, without a lock (a pure core takes
// none): Nodes that share a View must run on one goroutine, as the
// simulator's do; SetPeers gives each Node a View of its own.
type ringCache struct {
	name   []uint64 // FNV-1a of each base member's name
	orders map[int]*ringOrder
}

func (b *viewBase) ring(c int) *ringOrder {
	if ro := b.rings.orders[c]; ro != nil {
		return ro
	}
	if b.rings.name == nil {
		b.rings.name = make([]uint64, len(b.members))
		for i, m := range b.members {
			h := fnv.New64a()
			h.Write([]byte(m))
			b.rings.name[i] = h.Sum64()
		}
		b.rings.orders = make(map[int]*ringOrder)
	}
	ro := &ringOrder{pos: make([]uint64, len(b.members)), order: make([]int32, len(b.members))}
	for i, h := range b.rings.name {
		ro.pos[i] = ringPos(h, c)
		ro.order[i] = int32(i)
	}
	slices.SortFunc(ro.order, func(x, y int32) int {
		if ro.pos[x] != ro.pos[y] {
			if ro.pos[x] < ro.pos[y] {
				return -1
			}
			return 1
		}
		return int(x - y)
	})
	ro.keys = make([]uint64, len(ro.order))
	for i, b := range ro.order {
		ro.keys[i] = ro.pos[b]
	}
	b.rings.orders[c] = ro
	return ro
}

func ringPos(nameHash uint64, c int) uint64 { return splitmix(nameHash ^ splitmix(uint64(c)+0x7269)) }

// inPartialTree reports whether a member is reached by the partial tree as
// a leaf (representatives always are); independent of its positions.
func inPartialTree(nameHash uint64, permille int) bool {
	return splitmix(nameHash^0x9a27)%1000 < uint64(permille)
}

// ringLayout is a Node's parameters of the ring trees for a view size.
type ringLayout struct {
	fanout   int
	levels   int // L
	trees    int
	permille int      // the last tree reaches this share of leaves (0: all trees full)
	pow      []uint64 // f^ℓ for ℓ ≤ L
}

func newRingLayout(n int, cfg *Config) *ringLayout {
	r := &ringLayout{fanout: cfg.EagerFanout, trees: 1 + cfg.EagerRedundancy}
	if cfg.PartialCopyPermille > 0 {
		r.trees++
		if cfg.PartialCopyPermille < 1000 {
			r.permille = cfg.PartialCopyPermille
		}
	}
	f := float64(r.fanout)
	for size := float64(n); size > 1.5*f && r.levels < 12; size /= f {
		r.levels++
	}
	r.pow = make([]uint64, r.levels+1)
	r.pow[0] = 1
	for l := 1; l <= r.levels; l++ {
		r.pow[l] = r.pow[l-1] * uint64(r.fanout)
	}
	return r
}

// arcOf is the level-ℓ arc holding position p: ⌊p·f^ℓ / 2^64⌋, so that
// arcOf(p, ℓ) = arcOf(p, ℓ+1) / f exactly.
func (r *ringLayout) arcOf(p uint64, l int) uint64 {
	if l == 0 {
		return 0
	}
	hi, _ := bits.Mul64(p, r.pow[l])
	return hi
}

// ringTree answers questions about one tree of one origin in one view.
type ringTree struct {
	lay    *ringLayout
	v      *View
	ro     *ringOrder
	c      int
	origin int32 // base index, −1 if the origin is not in the base
}

func (n *Node) ringTree(c int, origin NodeID) ringTree {
	t := ringTree{lay: n.ring, v: n.view, ro: n.view.base.ring(c), c: c, origin: -1}
	if b, ok := n.view.base.index[origin]; ok {
		t.origin = b
	}
	return t
}

// span returns the range of t.ro.order holding arc a of level l.
func (t *ringTree) span(l int, a uint64) (int, int) {
	i := sort.Search(len(t.ro.keys), func(i int) bool { return t.lay.arcOf(t.ro.keys[i], l) >= a })
	j := sort.Search(len(t.ro.keys), func(i int) bool { return t.lay.arcOf(t.ro.keys[i], l) > a })
	return i, j
}

// first returns the first member of arc a at level l in this view that is
// not in skip.
func (t *ringTree) first(l int, a uint64, skip []int32) (int32, bool) {
	i, j := t.span(l, a)
	for ; i < j; i++ {
		if b := t.ro.order[i]; t.v.hasBase(b) && !slices.Contains(skip, b) {
			return b, true
		}
	}
	return 0, false
}

// role returns the arc self represents in this tree (level 0 for the
// origin, L+1 if self is a leaf) and the representatives above it, the
// origin first.
func (t *ringTree) role(self int32) (level int, arc uint64, above []int32) {
	above = []int32{t.origin}
	if self == t.origin {
		return 0, 0, nil
	}
	p := t.ro.pos[self]
	for l := 1; l <= t.lay.levels; l++ {
		a := t.lay.arcOf(p, l)
		r, ok := t.first(l, a, above)
		if !ok || r == self {
			return l, a, above
		}
		above = append(above, r)
	}
	return t.lay.levels + 1, t.lay.arcOf(p, t.lay.levels), above
}

// above returns the representatives of the arcs containing arc a of level
// l, the origin first, as this view sees them.
func (t *ringTree) above(l int, a uint64) []int32 {
	out := []int32{t.origin}
	for j := 1; j < l; j++ {
		if r, ok := t.first(j, a/t.lay.pow[l-j], out); ok {
			out = append(out, r)
		}
	}
	return out
}

// cover calls fn with each member self sends to when it covers arc a of
// level l (l ≤ L), and the arc that member is to cover (level L+1: a leaf).
func (t *ringTree) cover(self int32, l int, a uint64, above []int32, fn func(b int32, arc ArcRef)) {
	skip := append(slices.Clone(above), self)
	if l < t.lay.levels {
		for i := range uint64(t.lay.fanout) {
			sub := a*uint64(t.lay.fanout) + i
			if r, ok := t.first(l+1, sub, skip); ok {
				fn(r, ArcRef{Tree: uint8(t.c), Level: uint8(l + 1), Index: uint32(sub)})
			}
		}
		return
	}
	partial := t.lay.permille > 0 && t.c == t.lay.trees-1
	i, j := t.span(l, a)
	for ; i < j; i++ {
		b := t.ro.order[i]
		if !t.v.hasBase(b) || slices.Contains(skip, b) {
			continue
		}
		if partial && !inPartialTree(t.v.base.rings.name[b], t.lay.permille) {
			continue
		}
		fn(b, ArcRef{Tree: uint8(t.c), Level: uint8(l + 1), Index: uint32(a)})
	}
}

// ringPush sends the payload for every arc this node covers and has not
// covered yet: on the first copy, those its view makes it represent in each
// tree; on any copy, the one the copy names (arc). Sends go round robin
// over the trees, so that with a cost per send no tree waits for another.
func (n *Node) ringPush(id MessageID, payload []byte, hops int, from NodeID, arc ArcRef, first bool) {
	c := n.cache.get(id)
	self, ok := n.view.base.index[n.cfg.ID]
	if c == nil || !ok || !n.view.hasBase(self) {
		return
	}
	var pruned []NodeID
	if w := n.seen.origins[id.Origin]; w != nil {
		pruned = w.pruned
	}
	perTree := make([][]Envelope, n.ring.trees)
	coverArc := func(t *ringTree, l int, a uint64, above []int32) {
		ref := ArcRef{Tree: uint8(t.c), Level: uint8(l), Index: uint32(a)}
		if slices.Contains(c.covered, ref) {
			return
		}
		c.covered = append(c.covered, ref)
		t.cover(self, l, a, above, func(b int32, sub ArcRef) {
			to := n.view.base.members[b]
			if to == from || slices.Contains(pruned, to) {
				return
			}
			perTree[t.c] = append(perTree[t.c], Envelope{To: to, Msg: Message{
				Kind: Gossip, From: n.cfg.ID, IDs: []MessageID{id}, Payload: payload,
				Round: uint16(min(hops+1, 1<<16-1)), Arc: sub,
			}})
		})
	}
	if first {
		for tc := range n.ring.trees {
			t := n.ringTree(tc, id.Origin)
			if l, a, above := t.role(self); l <= n.ring.levels {
				coverArc(&t, l, a, above)
			}
		}
	}
	if arc.Level > 0 && int(arc.Level) <= n.ring.levels && int(arc.Tree) < n.ring.trees {
		t := n.ringTree(int(arc.Tree), id.Origin)
		coverArc(&t, int(arc.Level), uint64(arc.Index), t.above(int(arc.Level), uint64(arc.Index)))
	}
	for k := 0; ; k++ {
		more := false
		for _, envs := range perTree {
			if k < len(envs) {
				n.msgs = append(n.msgs, envs[k])
				more = true
			}
		}
		if !more {
			break
		}
	}
}

// ringParents is treeParents for the ring layout.
func (n *Node) ringParents(origin, from NodeID) (isParent bool, copies int) {
	self, ok := n.view.base.index[n.cfg.ID]
	if !ok || !n.view.hasBase(self) {
		return false, 0
	}
	for tc := range n.ring.trees {
		t := n.ringTree(tc, origin)
		l, _, above := t.role(self)
		if l == 0 {
			continue
		}
		if l > n.ring.levels && n.ring.permille > 0 && tc == n.ring.trees-1 &&
			!inPartialTree(n.view.base.rings.name[self], n.ring.permille) {
			continue
		}
		copies++
		if p := above[len(above)-1]; p >= 0 && n.view.base.members[p] == from {
			isParent = true
		}
	}
	return isParent, copies
}

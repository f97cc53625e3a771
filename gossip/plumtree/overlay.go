package plumtree

import "math"

// overlay computes, from positions alone, the dissemination trees of every
// origin and the fixed lazy peers. It holds O(trees × levels) numbers, never
// a per-member table, so 50k Nodes can each have one.
//
// Positions are taken relative to the origin (rel = (idx − origin) mod n), and
// rel is cut into levels of the heap layout of a complete f-ary tree: level 0
// is the origin, level ℓ holds f^ℓ positions (the last one what is left). In
// tree c the positions within each level are shuffled by an affine
// permutation u ↦ a·u+b (mod level size), and a member at shuffled position p
// has as children the next level's shuffled positions f·p … f·p+f−1. Tree 0
// uses the identity. Every tree therefore puts a member at the same depth, so
// each copy arrives after exactly depth hops (a latency bound no random tree
// gives), while its parents in the different trees are different members.
type overlay struct {
	n, fanout int
	trees     int // full trees plus the partial one, if any
	permille  int // share of members the last tree reaches, 0 if all trees are full
	levels    []level
	perms     [][]affine // [tree][level]
	lazy      []int      // offsets of lazy peers in the sorted view
	digest    []int      // offsets of the peers of anti-entropy rounds
}

type level struct{ start, size int }

type affine struct{ a, inv, b uint64 }

const goldenFrac = 0.6180339887498949

func newOverlay(n int, cfg *Config) *overlay {
	o := &overlay{n: n, fanout: cfg.EagerFanout, trees: 1 + cfg.EagerRedundancy}
	if cfg.PartialCopyPermille > 0 && cfg.PartialCopyPermille < 1000 {
		o.permille = cfg.PartialCopyPermille
		o.trees++
	} else if cfg.PartialCopyPermille == 1000 {
		o.trees++
	}
	for start, size := 0, 1; start < n; size *= o.fanout {
		size = min(size, n-start)
		o.levels = append(o.levels, level{start, size})
		start += size
	}
	o.perms = make([][]affine, o.trees)
	for c := range o.perms {
		o.perms[c] = make([]affine, len(o.levels))
		for l, lv := range o.levels {
			o.perms[c][l] = newAffine(lv.size, c)
		}
	}
	seen := map[int]bool{}
	for j := 1; j <= cfg.MaxLazy && n > 1; j++ {
		_, frac := math.Modf(float64(j) * goldenFrac)
		d := 1 + int(float64(n-1)*frac)
		for seen[d] && len(seen) < n-1 {
			d = d%(n-1) + 1
		}
		if seen[d] {
			break
		}
		seen[d] = true
		o.lazy = append(o.lazy, d)
	}
	// The digest peers are hashed offsets, distinct from each other and
	// from the lazy peers while the view is large enough, so that a member
	// hears about what it lacks from as many different members as possible.
	for k := 0; k < cfg.AntiEntropyRounds && n > 1; k++ {
		d := 1 + int(splitmix(uint64(k)^0x5a17)%uint64(n-1))
		for tries := 0; seen[d] && tries < n-1; tries++ {
			d = d%(n-1) + 1
		}
		seen[d] = true
		o.digest = append(o.digest, d)
	}
	return o
}

// digestPeer returns the sorted-view index of self's peer in anti-entropy
// round r.
func (o *overlay) digestPeer(self int, r uint64) int {
	return (self + o.digest[r%uint64(len(o.digest))]) % o.n
}

// newAffine returns the permutation of tree c of a level of size n: a
// pseudo-random multiplier coprime with n and an offset. Multipliers from a
// regular sequence (c·n/φ, say) are related by small factors, which lines
// the trees up: with a₂ ≈ 2a₁, a quarter of the members had the same
// parent in two trees. Hashed multipliers leave only chance collisions.
func newAffine(n, c int) affine {
	if c == 0 || n <= 2 {
		return affine{a: 1, inv: 1}
	}
	h := splitmix(uint64(c)<<32 ^ uint64(n))
	a := 2 + int(h%uint64(n-2))
	for gcd(a, n) != 1 {
		a = a%(n-1) + 1
	}
	return affine{a: uint64(a), inv: uint64(modInverse(a, n)), b: splitmix(h) % uint64(n)}
}

func (p affine) apply(u, n int) int { return int((p.a*uint64(u) + p.b) % uint64(n)) }
func (p affine) invert(q, n int) int {
	return int(p.inv * ((uint64(q) + uint64(n) - p.b%uint64(n)) % uint64(n)) % uint64(n))
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func modInverse(a, n int) int {
	t, newT, r, newR := 0, 1, n, a%n
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += n
	}
	return t
}

func (o *overlay) levelOf(rel int) int {
	for l := len(o.levels) - 1; l > 0; l-- {
		if rel >= o.levels[l].start {
			return l
		}
	}
	return 0
}

// inTree reports whether the member at relative position rel is reached by
// tree c: always, except in the partial tree.
func (o *overlay) inTree(c, rel int) bool {
	if c < o.trees-1 || o.permille == 0 || rel == 0 {
		return true
	}
	return splitmix(uint64(rel))%1000 < uint64(o.permille)
}

// children calls fn with the sorted-view index of each child of member self
// in tree c of the broadcasts from origin.
func (o *overlay) children(origin, self, c int, fn func(idx int)) {
	rel := (self - origin + o.n) % o.n
	l := o.levelOf(rel)
	if l+1 >= len(o.levels) {
		return
	}
	lv, next := o.levels[l], o.levels[l+1]
	p := o.perms[c][l].apply(rel-lv.start, lv.size)
	for q := p * o.fanout; q < (p+1)*o.fanout && q < next.size; q++ {
		child := next.start + o.perms[c][l+1].invert(q, next.size)
		if o.inTree(c, child) {
			fn((child + origin) % o.n)
		}
	}
}

// parent returns the sorted-view index of self's parent in tree c of the
// broadcasts from origin, or false for the origin and for members the
// partial tree does not reach.
func (o *overlay) parent(origin, self, c int) (int, bool) {
	rel := (self - origin + o.n) % o.n
	l := o.levelOf(rel)
	if l == 0 || !o.inTree(c, rel) {
		return 0, false
	}
	lv, prev := o.levels[l], o.levels[l-1]
	q := o.perms[c][l].apply(rel-lv.start, lv.size)
	p := prev.start + o.perms[c][l-1].invert(q/o.fanout, prev.size)
	return (p + origin) % o.n, true
}

// depth is the number of hops from the origin to the farthest member.
func (o *overlay) depth() int { return len(o.levels) - 1 }

// lazyPeers calls fn with the sorted-view index of each lazy peer of self.
func (o *overlay) lazyPeers(self int, fn func(idx int)) {
	for _, d := range o.lazy {
		fn((self + d) % o.n)
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

package plumtree

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func overlayConfig(fanout, redundancy, permille, lazy int) *Config {
	c := DefaultConfig("x", rand.New(rand.NewPCG(1, 2)))
	c.EagerFanout, c.EagerRedundancy, c.PartialCopyPermille, c.MaxLazy = fanout, redundancy, permille, lazy
	return &c
}

// TestOverlayTrees checks, for every tree of several origins, the properties
// the latency bound and the prune rule rely on: each member but the origin
// has exactly one parent, its parent lists it as a child, every member sits
// at the same depth in every tree, and no member has more than f children.
func TestOverlayTrees(t *testing.T) {
	for _, tc := range []struct{ n, f, r, permille, depth int }{
		{1, 2, 0, 0, 0},
		{2, 2, 1, 0, 1},
		{7, 2, 2, 500, 2},
		{100, 3, 2, 300, 4},
		{1000, 37, 2, 300, 2},
		{1407, 37, 3, 0, 2},
		{1408, 37, 3, 0, 3},
		{5000, 10, 2, 1000, 4},
	} {
		t.Run(fmt.Sprintf("n=%d,f=%d", tc.n, tc.f), func(t *testing.T) {
			o := newOverlay(tc.n, overlayConfig(tc.f, tc.r, tc.permille, 0))
			if o.depth() != tc.depth {
				t.Errorf("depth %d, want %d", o.depth(), tc.depth)
			}
			for _, origin := range []int{0, tc.n / 3, tc.n - 1} {
				reached := 0
				for c := 0; c < o.trees; c++ {
					parents := make([]int, tc.n)
					for i := range parents {
						parents[i] = -1
					}
					for self := 0; self < tc.n; self++ {
						kids := 0
						o.children(origin, self, c, func(child int) {
							kids++
							if parents[child] != -1 {
								t.Fatalf("tree %d: %d has parents %d and %d", c, child, parents[child], self)
							}
							parents[child] = self
						})
						if kids > tc.f {
							t.Fatalf("tree %d: %d has %d children", c, self, kids)
						}
					}
					for self := 0; self < tc.n; self++ {
						p, ok := o.parent(origin, self, c)
						switch {
						case self == origin && ok:
							t.Fatalf("tree %d: origin has parent %d", c, p)
						case self != origin && ok != (parents[self] != -1):
							t.Fatalf("tree %d: parent(%d) = %d,%v but children say %d", c, self, p, ok, parents[self])
						case ok && p != parents[self]:
							t.Fatalf("tree %d: parent(%d) = %d, children say %d", c, self, p, parents[self])
						case ok && o.levelOf((p-origin+tc.n)%tc.n)+1 != o.levelOf((self-origin+tc.n)%tc.n):
							t.Fatalf("tree %d: %d not one level below its parent %d", c, self, p)
						}
						if ok {
							reached++
						}
					}
					full := c < o.trees-1 || tc.permille == 0 || tc.permille == 1000
					if got := countParents(parents); full && got != tc.n-1 {
						t.Fatalf("full tree %d reaches %d of %d members", c, got, tc.n-1)
					}
				}
				// The partial tree reaches about permille of the members.
				if tc.permille > 0 && tc.permille < 1000 && tc.n >= 1000 {
					want := float64((o.trees-1)*(tc.n-1)) + float64(tc.permille)/1000*float64(tc.n-1)
					if got := float64(reached); got < 0.95*want || got > 1.05*want {
						t.Errorf("origin %d: %v copies, want ≈%v", origin, got, want)
					}
				}
			}
		})
	}
}

func countParents(parents []int) int {
	n := 0
	for _, p := range parents {
		if p != -1 {
			n++
		}
	}
	return n
}

// TestOverlayTreesDiffer checks that the trees are independent copy paths:
// a member's parents in different trees are mostly different members, so one
// crashed member does not cut several copies.
func TestOverlayTreesDiffer(t *testing.T) {
	const n = 50000
	o := newOverlay(n, overlayConfig(37, 2, 0, 0))
	same := 0
	for self := 1; self < n; self++ {
		p0, _ := o.parent(0, self, 0)
		p1, _ := o.parent(0, self, 1)
		p2, _ := o.parent(0, self, 2)
		if o.levelOf(self) > 1 && (p0 == p1 || p1 == p2 || p0 == p2) {
			same++
		}
	}
	if same > n/100 {
		t.Errorf("%d of %d members share a parent between trees", same, n)
	}
}

// TestLazyPeers checks that every member is the lazy peer of exactly
// MaxLazy others, and never of itself: an announcement can reach every member.
func TestLazyPeers(t *testing.T) {
	for _, tc := range []struct{ n, lazy, want int }{{1, 1, 0}, {2, 3, 1}, {5, 2, 2}, {1000, 3, 3}} {
		o := newOverlay(tc.n, overlayConfig(4, 0, 0, tc.lazy))
		in := make([]int, tc.n)
		for self := 0; self < tc.n; self++ {
			o.lazyPeers(self, func(i int) {
				if i == self {
					t.Fatalf("n=%d: %d is its own lazy peer", tc.n, self)
				}
				in[i]++
			})
		}
		for i, c := range in {
			if c != tc.want {
				t.Fatalf("n=%d lazy=%d: member %d is lazy peer of %d members, want %d", tc.n, tc.lazy, i, c, tc.want)
			}
		}
	}
}

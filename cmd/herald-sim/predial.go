package main

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// dialAhead models what the daemon does with -link tcp -dial ahead: each
// member's transport holds connections open to the members its protocol
// lists as links (plumtree.Node.Links; gossip/transport's TCP.Keep), and
// dials a link as soon as it appears.
//
//   - A fleet exists before the run: a link between two members that both
//     were in the fleet before -view-lag's window was dialled long ago.
//   - A joiner dials its links when it joins; a member dials its link to a
//     joiner when it learns of the join: at a time drawn from the same
//     spread as viewModel's (a member that learns a change of age a learns
//     it τ = D·log(1+U·(N^(a/D)−1))/log N after it), or when the joiner's
//     Hello reaches it, whichever comes first (runHerald schedules the
//     former as an evDial event; a dial to a link already set up is a
//     no-op).
//   - During the run, a member whose links change (a Hello from a member
//     its view lacked, a new origin) dials the new ones at once.
//
// Messages outside the links (grafts and their answers, Hello, Prune) still
// set up a connection on first use.
type dialAhead struct {
	tcp     *tcpLinks
	nodes   []*plumtree.Node
	index   map[plumtree.NodeID]int32
	version []uint64                // each node's LinksVersion when last dialled
	joined  map[int32]time.Duration // joiners: when they joined
	lag     time.Duration
	t0      time.Duration // first measured broadcast
	n       int
	r       *rand.Rand
}

// newDialAhead opens the links that stood before the run and schedules
// (through later) the dials of those that a join made since.
func newDialAhead(sc *scenario, tcp *tcpLinks, nodes []*plumtree.Node, index map[plumtree.NodeID]int32, seed uint64, later func(at time.Duration, from, to int32)) *dialAhead {
	d := &dialAhead{
		tcp: tcp, nodes: nodes, index: index, version: make([]uint64, len(nodes)),
		joined: make(map[int32]time.Duration, len(sc.joins)),
		lag:    sc.lag, t0: sc.firstMeasured(), n: sc.n, r: rand.New(rand.NewPCG(seed, 1<<57)),
	}
	for _, j := range sc.joins {
		d.joined[j.member] = d.t0 + j.at
	}
	for i, node := range nodes {
		if sc.crashed[i] {
			continue
		}
		d.version[i] = node.LinksVersion()
		for _, id := range node.Links() {
			from, to := int32(i), index[id]
			if at := d.initial(from, to); at == 0 {
				tcp.opened(from, to)
			} else {
				later(at, from, to)
			}
		}
	}
	return d
}

// initial returns when the link from→to, as it stands at the first
// measured broadcast, was dialled: 0 if before the run, else when the
// later of its two ends learned of the other.
func (d *dialAhead) initial(from, to int32) (at time.Duration) {
	if j, ok := d.joined[from]; ok {
		at = j
	}
	if j, ok := d.joined[to]; ok {
		at = max(at, j+d.learnDelay(d.t0-j))
	}
	return at
}

// learnDelay draws how long after a change of the given age (at the first
// broadcast) a member that knows of it learned it.
func (d *dialAhead) learnDelay(age time.Duration) time.Duration {
	if d.lag <= 0 || age <= 0 {
		return 0
	}
	n := float64(d.n)
	a := float64(age) / float64(d.lag)
	tau := math.Log1p(d.r.Float64()*(math.Pow(n, a)-1)) / math.Log(n)
	return time.Duration(tau * float64(d.lag))
}

// update dials member i's new links at now, if they changed.
func (d *dialAhead) update(i int32, now time.Duration) {
	node := d.nodes[i]
	if v := node.LinksVersion(); v != d.version[i] {
		d.version[i] = v
		for _, id := range node.Links() {
			d.tcp.dial(now, i, d.index[id])
		}
	}
}

package plumtree

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestInteraction runs the scripts in testdata/ against an in-memory
// network of Nodes. Run with -rewrite to regenerate the expected output
// after an intended behaviour change, then review the diff.
//
// Commands (arguments key=value):
//
//	add-members n=5 [fanout= redundancy= partial= lazy= ihave= graft= ae= ae-rounds=]
//	tree origin=n1               the eager trees of origin's broadcasts
//	broadcast from=n1 payload=x
//	deliver [from=] [to=] [kind=] [id=n1/2]  deliver the matching in-flight
//	                             messages, in order; new ones wait for the next call
//	drop [from=] [to=] [kind=] [id=]  lose the matching in-flight messages
//	partition groups=(n1 n2,n3)  messages between groups are lost; heal undoes
//	crash n=n3                   n3 stops: messages to it are lost
//	peer-down n=n3               every live member's failure detector fires
//	tick d=10ms                  advance the clock and tick every live member
//	stabilise [max=200]          deliver and tick until nothing is left to do
//	status                       deliveries and non-tree links of each member
func TestInteraction(t *testing.T) {
	// Only the *.txt scripts: testdata/fuzz holds the fuzzer's corpus.
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			net := &memNetwork{}
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return net.run(t, d)
			})
		})
	}
}

type inflight struct {
	from NodeID
	env  Envelope
}

type memNetwork struct {
	ids       []NodeID
	nodes     map[NodeID]*Node
	queue     []inflight
	now       time.Duration
	crashed   map[NodeID]bool
	group     map[NodeID]int // partition group; absent: no partition
	delivered map[NodeID][]Delivery
	out       *strings.Builder
}

func (net *memNetwork) run(t *testing.T, d *datadriven.TestData) string {
	var out strings.Builder
	net.out = &out
	switch d.Cmd {
	case "add-members":
		net.addMembers(t, d)
	case "tree":
		net.printTrees(NodeID(stringArg(t, d, "origin", "")))
	case "broadcast":
		from := NodeID(stringArg(t, d, "from", ""))
		id := net.node(t, from).Broadcast([]byte(stringArg(t, d, "payload", "")))
		fmt.Fprintf(&out, "%s broadcasts %s\n", from, id)
		net.collect(from)
	case "deliver", "drop":
		net.deliverOrDrop(t, d, d.Cmd == "drop")
	case "partition":
		net.group = map[NodeID]int{}
		for _, arg := range d.CmdArgs {
			if arg.Key == "groups" {
				for g, members := range arg.Vals {
					for _, m := range strings.Split(members, " ") {
						net.group[NodeID(m)] = g + 1
					}
				}
			}
		}
	case "heal":
		net.group = nil
	case "crash":
		id := NodeID(stringArg(t, d, "n", ""))
		net.crashed[id] = true
		fmt.Fprintf(&out, "%s crashed\n", id)
	case "peer-down":
		id := NodeID(stringArg(t, d, "n", ""))
		for _, m := range net.live() {
			net.nodes[m].PeerDown(id)
			net.collect(m)
		}
		fmt.Fprintf(&out, "%s removed from every view\n", id)
	case "tick":
		dur, err := time.ParseDuration(stringArg(t, d, "d", "1ms"))
		if err != nil {
			t.Fatal(err)
		}
		net.tick(net.now + dur)
	case "stabilise":
		net.stabilise(t, intArg(t, d, "max", 200))
	case "status":
		net.status()
	default:
		t.Fatalf("unknown command %q", d.Cmd)
	}
	if out.Len() == 0 {
		return "ok\n"
	}
	return out.String()
}

func (net *memNetwork) addMembers(t *testing.T, d *datadriven.TestData) {
	n := intArg(t, d, "n", 3)
	net.nodes, net.crashed, net.delivered = map[NodeID]*Node{}, map[NodeID]bool{}, map[NodeID][]Delivery{}
	net.ids = nil
	for i := 1; i <= n; i++ {
		net.ids = append(net.ids, NodeID(fmt.Sprintf("n%d", i)))
	}
	ihave, err := time.ParseDuration(stringArg(t, d, "ihave", "10ms"))
	if err != nil {
		t.Fatal(err)
	}
	graft, err := time.ParseDuration(stringArg(t, d, "graft", "30ms"))
	if err != nil {
		t.Fatal(err)
	}
	// One anti-entropy round after the last delivery unless a script asks
	// for more: enough to show it, few enough to keep the scripts short.
	ae, err := time.ParseDuration(stringArg(t, d, "ae", "100ms"))
	if err != nil {
		t.Fatal(err)
	}
	aeRounds := intArg(t, d, "ae-rounds", 1)
	for i, id := range net.ids {
		cfg := DefaultConfig(id, rand.New(rand.NewPCG(uint64(i), 7)))
		cfg.EagerFanout = intArg(t, d, "fanout", 2)
		cfg.EagerRedundancy = intArg(t, d, "redundancy", 0)
		cfg.PartialCopyPermille = intArg(t, d, "partial", 0)
		cfg.MaxLazy = intArg(t, d, "lazy", 1)
		cfg.IHaveInterval, cfg.GraftTimeout = ihave, graft
		cfg.AntiEntropyInterval, cfg.AntiEntropyRounds = ae, aeRounds
		net.nodes[id] = New(cfg)
		net.nodes[id].SetPeers(net.ids)
	}
	fmt.Fprintf(net.out, "members %s\n", joinIDs(net.ids))
}

func (net *memNetwork) printTrees(origin NodeID) {
	n := net.nodes[origin]
	oi := n.originIndex(origin)
	for c := 0; c < n.ov.trees; c++ {
		fmt.Fprintf(net.out, "tree %d:", c)
		for self := 0; self < n.view.Len(); self++ {
			var kids []NodeID
			n.ov.children(oi, self, c, func(i int) { kids = append(kids, n.view.Member(i)) })
			if len(kids) > 0 {
				fmt.Fprintf(net.out, " %s->%s", n.view.Member(self), joinIDs(kids))
			}
		}
		net.out.WriteString("\n")
	}
	var lazy []string
	for self := 0; self < n.view.Len(); self++ {
		n.ov.lazyPeers(self, func(i int) { lazy = append(lazy, fmt.Sprintf("%s->%s", n.view.Member(self), n.view.Member(i))) })
	}
	fmt.Fprintf(net.out, "lazy: %s\n", strings.Join(lazy, " "))
}

func (net *memNetwork) node(t *testing.T, id NodeID) *Node {
	n, ok := net.nodes[id]
	if !ok || net.crashed[id] {
		t.Fatalf("no live member %q", id)
	}
	return n
}

func (net *memNetwork) live() []NodeID {
	return slices.DeleteFunc(slices.Clone(net.ids), func(id NodeID) bool { return net.crashed[id] })
}

// collect moves a member's output into the network and prints deliveries.
func (net *memNetwork) collect(id NodeID) {
	msgs, dels := net.nodes[id].Ready()
	for _, env := range msgs {
		net.queue = append(net.queue, inflight{from: id, env: env})
	}
	for _, d := range dels {
		net.delivered[id] = append(net.delivered[id], d)
		if d.Hops > 0 {
			fmt.Fprintf(net.out, "  %s delivers %s hops=%d %q\n", id, d.ID, d.Hops, d.Payload)
		}
	}
}

func (net *memNetwork) matches(t *testing.T, d *datadriven.TestData, m inflight) bool {
	from, to, kind := stringArg(t, d, "from", ""), stringArg(t, d, "to", ""), stringArg(t, d, "kind", "")
	id := stringArg(t, d, "id", "")
	return (from == "" || NodeID(from) == m.from) && (to == "" || NodeID(to) == m.env.To) &&
		(kind == "" || kind == m.env.Msg.Kind.String()) &&
		(id == "" || slices.ContainsFunc(m.env.Msg.IDs, func(x MessageID) bool { return x.String() == id }))
}

func (net *memNetwork) deliverOrDrop(t *testing.T, d *datadriven.TestData, drop bool) {
	batch := net.queue
	net.queue = nil
	for _, m := range batch {
		if !net.matches(t, d, m) {
			net.queue = append(net.queue, m)
			continue
		}
		if drop {
			fmt.Fprintf(net.out, "dropped %s\n", fmtInflight(m))
			continue
		}
		net.deliverOne(m)
	}
}

func (net *memNetwork) deliverOne(m inflight) {
	switch {
	case net.crashed[m.env.To]:
		fmt.Fprintf(net.out, "%s (lost: crashed)\n", fmtInflight(m))
	case net.group != nil && net.group[m.from] != net.group[m.env.To]:
		fmt.Fprintf(net.out, "%s (lost: partition)\n", fmtInflight(m))
	default:
		fmt.Fprintf(net.out, "%s\n", fmtInflight(m))
		net.nodes[m.env.To].Step(m.env.Msg)
		net.collect(m.env.To)
	}
}

func (net *memNetwork) tick(now time.Duration) {
	net.now = now
	fmt.Fprintf(net.out, "tick %v\n", now)
	for _, id := range net.live() {
		net.nodes[id].Tick(now)
		net.collect(id)
	}
}

// stabilise delivers every message and jumps the clock to the next timer
// until no message is in flight and no timer is armed.
func (net *memNetwork) stabilise(t *testing.T, rounds int) {
	for range rounds {
		if len(net.queue) > 0 {
			batch := net.queue
			net.queue = nil
			for _, m := range batch {
				net.deliverOne(m)
			}
			continue
		}
		next, armed := time.Duration(0), false
		for _, id := range net.live() {
			if at, ok := net.nodes[id].NextDeadline(); ok && (!armed || at < next) {
				next, armed = at, true
			}
		}
		if !armed {
			return
		}
		net.tick(max(next, net.now))
	}
	t.Fatalf("not stable after %d rounds", rounds)
}

func (net *memNetwork) status() {
	for _, id := range net.ids {
		var ids []string
		for _, d := range net.delivered[id] {
			ids = append(ids, d.ID.String())
		}
		state := ""
		if net.crashed[id] {
			state = " (crashed)"
		}
		fmt.Fprintf(net.out, "%s%s: delivered [%s]", id, state, strings.Join(ids, " "))
		n := net.nodes[id]
		origins := make([]NodeID, 0, len(n.seen.origins))
		for o := range n.seen.origins {
			origins = append(origins, o)
		}
		slices.Sort(origins)
		for _, o := range origins {
			w := n.seen.origins[o]
			if len(w.grafted) > 0 {
				fmt.Fprintf(net.out, " grafted[%s]=%s", o, joinIDs(w.grafted))
			}
			if len(w.pruned) > 0 {
				fmt.Fprintf(net.out, " pruned[%s]=%s", o, joinIDs(w.pruned))
			}
		}
		net.out.WriteString("\n")
	}
}

func fmtInflight(m inflight) string {
	msg := m.env.Msg
	ids := make([]string, len(msg.IDs))
	for i, id := range msg.IDs {
		ids[i] = id.String()
	}
	for _, r := range msg.Ranges {
		ids = append(ids, r.String())
	}
	s := fmt.Sprintf("%s->%s %s %s", m.from, m.env.To, msg.Kind, strings.Join(ids, ","))
	if msg.Kind == Gossip {
		s += fmt.Sprintf(" round=%d", msg.Round)
	}
	return s
}

func joinIDs(ids []NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ",")
}

func stringArg(t *testing.T, d *datadriven.TestData, key, def string) string {
	if !d.HasArg(key) {
		return def
	}
	var v string
	d.ScanArgs(t, key, &v)
	return v
}

func intArg(t *testing.T, d *datadriven.TestData, key string, def int) int {
	if !d.HasArg(key) {
		return def
	}
	var v int
	d.ScanArgs(t, key, &v)
	return v
}

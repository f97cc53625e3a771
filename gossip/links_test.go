package gossip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
)

// TestNodesKeepTheirLinksOpen: a Node hands its transport the protocol's
// links as soon as it has a view, so before the first broadcast every
// member holds a connection to each member it will send that broadcast's
// copies, announcements and digests to. The broadcast then opens no
// connection except the origin's own (an origin lists its pushes once it
// has broadcast), and the origin's next broadcast opens none at all.
func TestNodesKeepTheirLinksOpen(t *testing.T) {
	const members = 30
	names := make([]string, members)
	for i := range names {
		names[i] = fmt.Sprintf("k%02d", i)
	}
	config := func(i int) plumtree.Config {
		c := plumtree.WANConfig(plumtree.NodeID(names[i]), rand.New(rand.NewPCG(uint64(i), 5)))
		c.EagerFanout = 4                // arcs of two levels at 30 members
		c.GraftTimeout = 5 * time.Second // no repair: nothing is lost on loopback
		return c
	}
	var (
		tcps   []*transport.TCP
		nodes  []*Node
		roster []membership.Member
	)
	for i := range members {
		tcp, err := transport.ListenTCP(transport.TCPConfig{ID: names[i], ListenAddr: "127.0.0.1:0", Key: testKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tcp.Close() })
		tcps = append(tcps, tcp)
		roster = append(roster, membership.Member{Name: names[i], Meta: membership.Meta{ID: names[i], GossipAddr: tcp.Addr()}})
	}
	addr := map[plumtree.NodeID]string{}
	for _, m := range roster {
		addr[plumtree.NodeID(m.Name)] = m.Meta.GossipAddr
	}
	peers := &staticPeers{}
	peers.set(roster)
	for i := range members {
		node, err := NewNode(Config{Protocol: config(i), Peers: peers, Transport: tcps[i]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		nodes = append(nodes, node)
	}
	// What each member's protocol lists, computed apart from the Nodes.
	want := make([][]string, members)
	for i := range members {
		pt := plumtree.New(config(i))
		var others []plumtree.NodeID
		for j, name := range names {
			if j != i {
				others = append(others, plumtree.NodeID(name))
			}
		}
		pt.SetPeers(others)
		for _, id := range pt.Links() {
			want[i] = append(want[i], addr[id])
		}
		if len(want[i]) == 0 {
			t.Fatalf("%s has no links", names[i])
		}
	}
	linksOpen := func() bool {
		for i, tcp := range tcps {
			connected := tcp.Connected()
			for _, a := range want[i] {
				if _, ok := slices.BinarySearch(connected, a); !ok {
					return false
				}
			}
		}
		return true
	}
	waitFor(t, "every member to connect to its links before any broadcast", 3*time.Second, linksOpen, func() {
		for i, tcp := range tcps {
			t.Logf("%s want %v connected %v stats %+v peers %d node %+v", names[i], want[i], tcp.Connected(), tcp.Stats(), nodes[i].NumPeers(), nodes[i].Stats())
		}
	})
	for i, tcp := range tcps {
		if s := tcp.Stats(); s.DialsAhead == 0 || s.DialsFailed != 0 {
			t.Fatalf("%s: %+v: want its links dialled ahead, without failure", names[i], s)
		}
	}
	// The joiners' Hello to their tree parents also opens connections, on
	// use: wait until every frame handed to a transport has arrived.
	quiet := func() {
		waitFor(t, "every frame handed to a transport to arrive", 30*time.Second, func() bool {
			var handed, received uint64
			for i, n := range nodes {
				s := n.Stats()
				handed += s.PayloadSent + s.ControlSent
				received += tcps[i].Stats().FramesReceived
			}
			return handed == received
		})
	}
	quiet()
	dials := func() []uint64 {
		out := make([]uint64, members)
		for i, tcp := range tcps {
			out[i] = tcp.Stats().Dials
		}
		return out
	}
	col := collect(names, nodes)
	const origin = 7
	var ids []plumtree.MessageID
	for round := range 2 {
		before := dials()
		id, err := nodes[origin].Broadcast(context.Background(), fmt.Appendf(nil, "round %d", round))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		waitFor(t, "every member to deliver", 30*time.Second, func() bool { return col.delivered(ids) == members*len(ids) })
		quiet()
		for i, d := range dials() {
			if d != before[i] && (i != origin || round > 0) {
				t.Errorf("broadcast %d: %s dialled %d connections on use", round, names[i], d-before[i])
			}
		}
	}
	for _, n := range nodes {
		n.Close()
	}
	col.wg.Wait()
	col.checkExactlyOnce(t, ids)
}

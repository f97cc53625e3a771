package gossip

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
)

// TestTCPFleet100ExactlyOnce is issue 11's real-transport check: 100 gossip
// Nodes in this process, each with its own TCP transport on loopback
// (authenticated frames, a connection per ordered pair) wrapped in Faulty
// with 10 % loss and 1–4 ms of delay, reach 100 % coverage with every
// message delivered exactly once. Membership is a static list rather than
// 100 memberlists (TestFleetLoopbackExactlyOnce covers memberlist): what
// is checked here is the protocol over the real transport at this size.
func TestTCPFleet100ExactlyOnce(t *testing.T) {
	const members, origins = 100, 2
	messages := 20
	if testing.Short() {
		messages = 10
	}
	peers := &staticPeers{}
	var (
		nodes   []*Node
		faults  []*transport.Faulty
		names   []string
		roster  []membership.Member
		tcps    []*transport.TCP
		closers []func()
	)
	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
	})
	for i := range members {
		name := fmt.Sprintf("t%03d", i)
		tcp, err := transport.ListenTCP(transport.TCPConfig{ID: name, ListenAddr: "127.0.0.1:0", Key: testKey})
		if err != nil {
			t.Fatal(err)
		}
		tcps = append(tcps, tcp)
		names = append(names, name)
		roster = append(roster, membership.Member{Name: name, Meta: membership.Meta{ID: name, GossipAddr: tcp.Addr()}})
	}
	peers.set(roster)
	for i, tcp := range tcps {
		f := transport.NewFaulty(tcp, transport.FaultConfig{Loss: 0.1, DelayMin: time.Millisecond, DelayMax: 4 * time.Millisecond, Seed: uint64(i) + 500})
		node, err := NewNode(Config{
			Protocol:  plumtree.DefaultConfig(plumtree.NodeID(names[i]), rand.New(rand.NewPCG(uint64(i), 11))),
			Peers:     peers,
			Transport: f,
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes, faults = append(nodes, node), append(faults, f)
		closers = append(closers, func() { node.Close(); f.Close() })
	}
	waitFor(t, "every node to see the others", 30*time.Second, func() bool {
		for _, n := range nodes {
			if n.NumPeers() != members-1 {
				return false
			}
		}
		return true
	})
	t.Cleanup(func() {
		if t.Failed() {
			for i, tcp := range tcps {
				if st := tcp.Stats(); st.DialsFailed+st.FramesLost+st.QueueFull > 0 {
					t.Logf("%s transport: %+v", names[i], st)
				}
			}
		}
	})
	col := collect(names, nodes)
	ids := runStream(t, nodes[:origins], nodes, col, messages, quiesce)
	col.checkExactlyOnce(t, ids)

	var dropped, rejected, sent uint64
	for i, f := range faults {
		dropped += f.Stats().Dropped
		st := tcps[i].Stats()
		rejected, sent = rejected+st.FramesRejected, sent+st.FramesSent
	}
	if dropped == 0 || sent == 0 {
		t.Fatalf("%d frames dropped, %d sent over TCP: the test did not exercise the transport and repair", dropped, sent)
	}
	if rejected != 0 {
		t.Fatalf("%d frames rejected between honest members", rejected)
	}
}

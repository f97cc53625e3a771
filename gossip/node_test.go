package gossip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
	"github.com/heraldproj/herald/tests/harness"
)

// staticPeers is a Peers whose member list the test changes by hand.
type staticPeers struct {
	mu      sync.Mutex
	members []membership.Member
	subs    []chan membership.Event
}

func (s *staticPeers) Members() []membership.Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]membership.Member(nil), s.members...)
}

func (s *staticPeers) Subscribe() (<-chan membership.Event, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan membership.Event, 16)
	s.subs = append(s.subs, c)
	return c, func() {}
}

func (s *staticPeers) set(members []membership.Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members = members
	for _, c := range s.subs {
		select {
		case c <- membership.Event{Type: membership.Update}:
		default:
		}
	}
}

func member(i int) membership.Member {
	name := fmt.Sprintf("h%02d", i)
	return membership.Member{Name: name, Meta: membership.Meta{ID: name, GossipAddr: name + ":7947"}}
}

type memCluster struct {
	nodes  []*Node
	trs    []transport.Transport
	faults []*transport.Faulty
	peers  *staticPeers
}

// newMemCluster runs n Nodes over an in-memory network, each sending
// through a Faulty with the given faults.
func newMemCluster(t *testing.T, n int, faults transport.FaultConfig) *memCluster {
	t.Helper()
	return newMemClusterWith(t, n, faults, plumtree.DefaultConfig)
}

// newMemClusterWith is newMemCluster with the protocol configuration.
func newMemClusterWith(t *testing.T, n int, faults transport.FaultConfig, proto func(plumtree.NodeID, *rand.Rand) plumtree.Config, mods ...func(*Config)) *memCluster {
	t.Helper()
	net := transport.NewNetwork()
	c := &memCluster{peers: &staticPeers{}}
	var members []membership.Member
	for i := range n {
		members = append(members, member(i))
	}
	c.peers.set(members)
	for i, m := range members {
		ep, err := net.Listen(m.Meta.GossipAddr, m.Name, 4096)
		if err != nil {
			t.Fatal(err)
		}
		fc := faults
		fc.Seed = uint64(i) + faults.Seed
		f := transport.NewFaulty(ep, fc)
		cfg := Config{
			Protocol:  proto(plumtree.NodeID(m.Name), rand.New(rand.NewPCG(uint64(i), 1))),
			Peers:     c.peers,
			Transport: f,
		}
		for _, mod := range mods {
			mod(&cfg)
		}
		node, err := NewNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes, c.trs, c.faults = append(c.nodes, node), append(c.trs, f), append(c.faults, f)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.nodes[i].Close()
			c.trs[i].Close()
		}
	})
	return c
}

// collector counts deliveries per (member, message).
type collector struct {
	mu     sync.Mutex
	counts map[string]map[plumtree.MessageID]int
	wg     sync.WaitGroup
}

func collect(names []string, nodes []*Node) *collector {
	c := &collector{counts: make(map[string]map[plumtree.MessageID]int)}
	for i, n := range nodes {
		name := names[i]
		c.counts[name] = make(map[plumtree.MessageID]int)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for d := range n.Deliveries() {
				c.mu.Lock()
				c.counts[name][d.ID]++
				c.mu.Unlock()
			}
		}()
	}
	return c
}

// report logs the (member, message) pairs not yet delivered.
func (c *collector) report(t testing.TB, ids []plumtree.MessageID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	missing := 0
	for name, got := range c.counts {
		for _, id := range ids {
			if got[id] == 0 {
				missing++
				if missing <= 20 {
					t.Logf("%s has not delivered %v", name, id)
				}
			}
		}
	}
	t.Logf("%d (member, message) pairs missing", missing)
}

func reportStats(t testing.TB, nodes []*Node) {
	for _, n := range nodes {
		t.Logf("%s: %+v", n.ID(), n.Stats())
	}
}

// checkExactlyOnce verifies that every member delivered every id of ids
// exactly once, and no message at all more than once.
func (c *collector) checkExactlyOnce(t testing.TB, ids []plumtree.MessageID) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	bad := 0
	fail := func(format string, args ...any) {
		bad++
		if bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for name, got := range c.counts {
		for _, id := range ids {
			if n := got[id]; n != 1 {
				fail("%s delivered %v %d times", name, id, n)
			}
		}
		for id, n := range got {
			if n > 1 {
				fail("%s delivered %v %d times", name, id, n)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d (member, message) pairs not delivered exactly once", bad)
	}
}

// delivered counts the (member, id) pairs delivered at least once.
func (c *collector) delivered(ids []plumtree.MessageID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, got := range c.counts {
		for _, id := range ids {
			if got[id] > 0 {
				n++
			}
		}
	}
	return n
}

// waitFor polls cond; the deadline only bounds a hang. onTimeout, if
// given, logs diagnostics before the test fails.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool, onTimeout ...func()) {
	t.Helper()
	if err := harness.Await(d, func() error {
		if cond() {
			return nil
		}
		return errors.New("not yet")
	}); err != nil {
		for _, f := range onTimeout {
			f()
		}
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// settle lets an in-memory fleet run out of work, in virtual time (inside
// synctest.Test): an hour of protocol time fires every timer there is (a
// quiet fleet arms none: anti-entropy retires an origin after a few
// rounds), and synctest.Wait returns once every goroutine is blocked with
// nothing to do. A late duplicate delivery would have been seen by then.
func settle(t testing.TB, nodes []*Node) {
	t.Helper()
	time.Sleep(time.Hour)
	synctest.Wait()
	before := sentFrames(nodes)
	time.Sleep(time.Hour)
	synctest.Wait()
	if after := sentFrames(nodes); after != before {
		t.Fatalf("the fleet still sends after an hour of quiet: %d frames in the next hour", after-before)
	}
}

// sentFrames is what the nodes sent, payload and control.
func sentFrames(nodes []*Node) (s uint64) {
	for _, n := range nodes {
		st := n.Stats()
		s += st.PayloadSent + st.ControlSent
	}
	return s
}

// quiesce waits until no node has sent anything for a while, so that a late
// duplicate delivery would have been seen. It is settle for fleets on a
// real network, where time cannot be virtual: a pause proves only that
// nothing came during it.
func quiesce(t testing.TB, nodes []*Node) {
	t.Helper()
	last := sentFrames(nodes)
	waitFor(t, "traffic to stop", time.Minute, func() bool {
		time.Sleep(200 * time.Millisecond)
		now := sentFrames(nodes)
		defer func() { last = now }()
		return now == last
	})
}

// TestNodesDeliverExactlyOnceWithLoss runs in virtual time (synctest): the
// in-memory network's delays, the protocol's timers and the pauses between
// bursts take no real time, and the end of traffic is exact (settle).
func TestNodesDeliverExactlyOnceWithLoss(t *testing.T) {
	synctest.Test(t, testNodesDeliverExactlyOnceWithLoss)
}

func testNodesDeliverExactlyOnceWithLoss(t *testing.T) {
	const members, messages = 12, 60
	c := newMemCluster(t, members, transport.FaultConfig{Loss: 0.1, DelayMin: 0, DelayMax: time.Millisecond, Seed: 100})
	c.streamExactlyOnce(t, 3, messages)
}

// streamExactlyOnce (inside synctest.Test) waits for every view to be
// whole, streams messages from the first origins Nodes and checks that every member delivered each
// exactly once and that the faults dropped frames (repair was exercised).
func (c *memCluster) streamExactlyOnce(t *testing.T, origins, messages int) {
	t.Helper()
	members := len(c.nodes)
	names := make([]string, members)
	for i := range names {
		names[i] = member(i).Name
	}
	col := collect(names, c.nodes)
	waitFor(t, "views", 20*time.Second, func() bool {
		for _, n := range c.nodes {
			if n.NumPeers() != members-1 {
				return false
			}
		}
		return true
	})
	ids := runStream(t, c.nodes[:origins], c.nodes, col, messages, settle)
	col.checkExactlyOnce(t, ids)
	var dropped uint64
	for _, f := range c.faults {
		dropped += f.Stats().Dropped
	}
	if dropped == 0 {
		t.Fatal("no frame was lost: the test did not exercise repair")
	}
}

// TestRingNodesDeliverExactlyOnceWithLoss runs the ring layout through the
// driver and the codec (pushes carry their arc, wire version 3; each Node
// announces itself once its view arrives): with 10 % loss every member
// delivers every message exactly once. In virtual time, as
// TestNodesDeliverExactlyOnceWithLoss.
func TestRingNodesDeliverExactlyOnceWithLoss(t *testing.T) {
	synctest.Test(t, testRingNodesDeliverExactlyOnceWithLoss)
}

func testRingNodesDeliverExactlyOnceWithLoss(t *testing.T) {
	const members, messages = 30, 60
	ring := func(id plumtree.NodeID, r *rand.Rand) plumtree.Config {
		c := plumtree.DefaultConfig(id, r)
		c.Layout = plumtree.LayoutRing
		c.EagerFanout = 4 // 30 members: two levels of arcs, three hops
		return c
	}
	c := newMemClusterWith(t, members, transport.FaultConfig{Loss: 0.1, DelayMax: time.Millisecond, Seed: 300}, ring)
	c.streamExactlyOnce(t, 2, messages)
}

func TestNodeFollowsMembershipAndRejectsImpostors(t *testing.T) {
	c := newMemCluster(t, 3, transport.FaultConfig{})
	waitFor(t, "views", 20*time.Second, func() bool { return c.nodes[0].NumPeers() == 2 })
	// h02 leaves: h00's view shrinks.
	c.peers.set([]membership.Member{member(0), member(1)})
	waitFor(t, "h02 removed", 20*time.Second, func() bool { return c.nodes[0].NumPeers() == 1 })

	// A frame that does not decode, and one whose sender lies, are counted
	// and dropped.
	bad := &plumtree.Message{Kind: plumtree.Prune, From: "h01", IDs: []plumtree.MessageID{{Origin: "h01", Seq: 1}}}
	b, err := bad.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Sent by h02's transport: its frames say From "h02" but the message claims h01.
	if err := c.trs[2].Send(member(0).Meta.GossipAddr, b); err != nil {
		t.Fatal(err)
	}
	if err := c.trs[2].Send(member(0).Meta.GossipAddr, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "impostor frames counted", 20*time.Second, func() bool { return c.nodes[0].Stats().Malformed == 2 })
}

func TestBroadcastAfterClose(t *testing.T) {
	c := newMemCluster(t, 1, transport.FaultConfig{})
	n := c.nodes[0]
	id, err := n.Broadcast(context.Background(), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if d := <-n.Deliveries(); d.ID != id || d.Hops != 0 {
		t.Fatalf("local delivery %+v, want %v at hop 0", d, id)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Broadcast(context.Background(), []byte("y")); err != ErrClosed {
		t.Fatalf("Broadcast after Close: %v", err)
	}
	if _, ok := <-n.Deliveries(); ok {
		t.Fatal("Deliveries open after Close")
	}
}

func TestSlowConsumerStallsInsteadOfDropping(t *testing.T) {
	peers := &staticPeers{}
	peers.set([]membership.Member{member(0)})
	ep, err := transport.NewNetwork().Listen(member(0).Meta.GossipAddr, member(0).Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	n, err := NewNode(Config{
		Protocol:             plumtree.DefaultConfig(plumtree.NodeID(member(0).Name), rand.New(rand.NewPCG(1, 1))),
		Peers:                peers,
		Transport:            ep,
		DeliveryBuffer:       1,
		MaxPendingDeliveries: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	// One delivery fills the channel, two more fill the pending list.
	var ids []plumtree.MessageID
	for i := range 3 {
		id, err := n.Broadcast(ctx, fmt.Appendf(nil, "%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := n.Broadcast(short, []byte("stalled")); err == nil {
		t.Fatal("Broadcast accepted while deliveries were backed up")
	}
	for i, want := range ids {
		if d := <-n.Deliveries(); d.ID != want {
			t.Fatalf("delivery %d = %v, want %v (none may be dropped)", i, d.ID, want)
		}
	}
	if _, err := n.Broadcast(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
}

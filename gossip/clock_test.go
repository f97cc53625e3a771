package gossip

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
)

// manualClock ticks only when the test advances it.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
	c   chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Unix(1_000_000, 0), c: make(chan time.Time)}
}

func (m *manualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// NewTimer returns the one channel that advance sends on: whatever timer
// the Node has armed fires when the test advances the clock.
func (m *manualClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	return m.c, func() bool { return true }
}

// advance moves the clock and fires the Node's timer (blocking until the
// Node takes it, so the Node must have one armed).
func (m *manualClock) advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	now := m.now
	m.mu.Unlock()
	m.c <- now
}

func nextDelivery(t *testing.T, n *Node) plumtree.Delivery {
	t.Helper()
	select {
	case d := <-n.Deliveries():
		return d
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery")
	}
	return plumtree.Delivery{}
}

// TestRepairRunsOnTheInjectedClock loses one message on the only link and
// checks that its repair (a graft after GraftTimeout) waits for the
// injected clock, not the wall clock. It runs in a synctest bubble, so
// that "no graft yet" is exact: every goroutine has done what it could.
func TestRepairRunsOnTheInjectedClock(t *testing.T) {
	synctest.Test(t, testRepairRunsOnTheInjectedClock)
}

func testRepairRunsOnTheInjectedClock(t *testing.T) {
	net := transport.NewNetwork()
	peers := &staticPeers{}
	peers.set([]membership.Member{
		{Name: "a", Meta: membership.Meta{ID: "a", GossipAddr: "a:1"}},
		{Name: "b", Meta: membership.Meta{ID: "b", GossipAddr: "b:1"}},
	})
	clocks := map[string]*manualClock{"a": newManualClock(), "b": newManualClock()}
	nodes := map[string]*Node{}
	var faultyA *transport.Faulty
	for _, name := range []string{"a", "b"} {
		ep, err := net.Listen(name+":1", name, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := transport.NewFaulty(ep, transport.FaultConfig{})
		if name == "a" {
			faultyA = f
		}
		n, err := NewNode(Config{
			Protocol:  plumtree.DefaultConfig(plumtree.NodeID(name), rand.New(rand.NewPCG(1, 2))),
			Peers:     peers,
			Transport: f,
			Clock:     clocks[name],
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes[name] = n
		t.Cleanup(func() { n.Close(); f.Close() })
	}
	a, b := nodes["a"], nodes["b"]
	waitFor(t, "views", 20*time.Second, func() bool { return a.NumPeers() == 1 && b.NumPeers() == 1 })
	ctx := context.Background()
	broadcast := func(p string) plumtree.MessageID {
		id, err := a.Broadcast(ctx, []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		if d := nextDelivery(t, a); d.ID != id {
			t.Fatalf("origin delivered %v, want %v", d.ID, id)
		}
		return id
	}

	m1 := broadcast("m1")
	if d := nextDelivery(t, b); d.ID != m1 {
		t.Fatalf("b delivered %v, want %v", d.ID, m1)
	}
	faultyA.Cut("b:1")
	m2 := broadcast("m2") // lost
	faultyA.Heal("b:1")
	m3 := broadcast("m3")
	if d := nextDelivery(t, b); d.ID != m3 {
		t.Fatalf("b delivered %v, want %v", d.ID, m3)
	}
	// b now knows m2 is missing, but its clock has not moved: no graft yet,
	// however long the wall clock runs (the bubble's does: a minute).
	time.Sleep(time.Minute)
	synctest.Wait()
	select {
	case d := <-b.Deliveries():
		t.Fatalf("b delivered %v before its clock reached the graft timeout", d.ID)
	default:
	}
	clocks["b"].advance(time.Second)
	if d := nextDelivery(t, b); d.ID != m2 || string(d.Payload) != "m2" {
		t.Fatalf("after the tick b delivered %v %q, want %v", d.ID, d.Payload, m2)
	}
}

// recordingClock is a manualClock that records the timers the Node sets.
type recordingClock struct {
	*manualClock
	mu     sync.Mutex
	timers []time.Duration
}

func (r *recordingClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	r.mu.Lock()
	r.timers = append(r.timers, d)
	r.mu.Unlock()
	return r.manualClock.NewTimer(d)
}

func (r *recordingClock) set() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.timers...)
}

// TestTicksAtTheProtocolDeadline checks that the Node sleeps while the
// protocol has nothing armed and otherwise sets its timer for the
// protocol's next deadline, not for a fixed tick period: the IHave batch
// of a broadcast is due exactly IHaveInterval later.
func TestTicksAtTheProtocolDeadline(t *testing.T) {
	net := transport.NewNetwork()
	peers := &staticPeers{}
	peers.set([]membership.Member{
		{Name: "a", Meta: membership.Meta{ID: "a", GossipAddr: "a:1"}},
		{Name: "b", Meta: membership.Meta{ID: "b", GossipAddr: "b:1"}},
	})
	clock := &recordingClock{manualClock: newManualClock()}
	ep, err := net.Listen("a:1", "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := plumtree.DefaultConfig("a", rand.New(rand.NewPCG(1, 2)))
	cfg.IHaveInterval = 7 * time.Millisecond
	n, err := NewNode(Config{Protocol: cfg, Peers: peers, Transport: ep, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(); ep.Close() })
	waitFor(t, "view", 20*time.Second, func() bool { return n.NumPeers() == 1 })
	if got := clock.set(); len(got) != 0 {
		t.Fatalf("idle node set timers %v", got)
	}
	if _, err := n.Broadcast(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	nextDelivery(t, n)
	if got := clock.set(); len(got) != 1 || got[0] != cfg.IHaveInterval {
		t.Fatalf("after a broadcast the node set timers %v, want [%v]", got, cfg.IHaveInterval)
	}
}

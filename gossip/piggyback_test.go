package gossip

import (
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
)

// TestPiggybackQueue: leaving packets take the oldest messages that fit,
// each message on CarryCopies packets; one that no packet took by its
// deadline comes back for a message of its own, one that a packet took
// does not; a full incoming channel drops, and counts, rather than blocks.
func TestPiggybackQueue(t *testing.T) {
	p := NewPiggyback(1)
	p.hold("a", []byte("0123456789"), 100*time.Millisecond)
	p.hold("b", []byte("xy"), 200*time.Millisecond)
	p.hold("c", []byte("z"), 300*time.Millisecond)
	for packet := range CarryCopies {
		if got := p.Outgoing(1, 5); len(got) != 2 || string(got[0]) != "xy" || string(got[1]) != "z" {
			t.Fatalf("packet %d, room for 5 bytes at 1 byte each of overhead: got %q, want the two small ones", packet, got)
		}
	}
	if got := p.Outgoing(1, 5); len(got) != 0 {
		t.Fatalf("after %d packets: got %q, want the small ones gone", CarryCopies, got)
	}
	p.hold("d", []byte("d"), 400*time.Millisecond)
	if got := p.Outgoing(1, 5); len(got) != 1 {
		t.Fatalf("got %q, want d", got)
	}
	due, next, ok := p.expired(50 * time.Millisecond)
	if len(due) != 0 || !ok || next != 100*time.Millisecond {
		t.Fatalf("before any deadline: due %v, next %v %v", due, next, ok)
	}
	due, _, ok = p.expired(time.Second)
	if len(due) != 1 || due[0].to != "a" || ok {
		t.Fatalf("after every deadline: due %v, more %v: want a alone (d was carried once), nothing left", due, ok)
	}
	if s := p.carried.Load(); s != 3 {
		t.Fatalf("%d carried, want 3 (messages, not packets)", s)
	}
	p.Incoming([]byte("one"))
	p.Incoming([]byte("two"))
	if got := <-p.in; string(got) != "one" || p.received.Load() != 1 || p.dropped.Load() != 1 {
		t.Fatalf("incoming: %q, %d received, %d dropped", got, p.received.Load(), p.dropped.Load())
	}
}

// TestFleetPiggybackExactlyOnce: heralds whose protocol marks its IHave and
// Digest for carrying (PiggybackWait) put them on memberlist's packets and
// act on those that arrive that way, and with 10 % of the transport's
// frames lost every message is still delivered exactly once.
func TestFleetPiggybackExactlyOnce(t *testing.T) {
	lan := membership.LAN
	fleets := startFleet(t, fleetSpec{
		members: 8,
		faults:  transport.FaultConfig{Loss: 0.1, DelayMin: time.Millisecond, DelayMax: 4 * time.Millisecond, Seed: 2000},
		profile: &lan,
		protocol: func(id plumtree.NodeID, r *rand.Rand) plumtree.Config {
			c := plumtree.DefaultConfig(id, r)
			c.PiggybackWait = 2 * time.Second // longer than LAN's probe interval: most ride
			return c
		},
	})
	nodes := make([]*Node, len(fleets))
	names := make([]string, len(fleets))
	for i, f := range fleets {
		nodes[i], names[i] = f.Node, string(f.ID())
	}
	col := collect(names, nodes)
	ids := runStream(t, nodes[:2], nodes, col, 60, quiesce)
	col.checkExactlyOnce(t, ids)
	var s Stats
	totals := func() bool {
		s = Stats{}
		for _, n := range nodes {
			st := n.Stats()
			s.PiggybackCarried += st.PiggybackCarried
			s.PiggybackReceived += st.PiggybackReceived
			s.PiggybackDirect += st.PiggybackDirect
			s.Malformed += st.Malformed
		}
		return s.PiggybackReceived > 0
	}
	// The lazy messages wait up to 2 s for a probe (one per second per member).
	waitFor(t, "a lazy message to arrive on a memberlist packet", 20*time.Second, totals)
	if s.PiggybackCarried == 0 || s.Malformed != 0 {
		t.Fatalf("fleet totals %+v: want messages carried on memberlist's packets, none malformed", s)
	}
	t.Logf("carried %d, received %d, sent in messages of their own after the wait %d", s.PiggybackCarried, s.PiggybackReceived, s.PiggybackDirect)
}

// TestPiggybackWithoutCarriers: with no packet to ride on (no membership
// asks for them), the held IHave and Digest messages go in messages of
// their own once their wait is over, and repair still delivers every
// message exactly once. In virtual time (synctest).
func TestPiggybackWithoutCarriers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		proto := func(id plumtree.NodeID, r *rand.Rand) plumtree.Config {
			c := plumtree.DefaultConfig(id, r)
			c.PiggybackWait = 20 * time.Millisecond
			return c
		}
		c := newMemClusterWith(t, 12, transport.FaultConfig{Loss: 0.1, DelayMax: time.Millisecond, Seed: 300}, proto,
			func(cfg *Config) { cfg.Piggyback = NewPiggyback(0) })
		c.streamExactlyOnce(t, 3, 60)
		var direct, carried uint64
		for _, n := range c.nodes {
			direct += n.Stats().PiggybackDirect
			carried += n.Stats().PiggybackCarried
		}
		if direct == 0 || carried != 0 {
			t.Fatalf("%d sent after the wait, %d carried: want all sent after the wait", direct, carried)
		}
	})
}

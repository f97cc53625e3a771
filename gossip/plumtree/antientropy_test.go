package plumtree

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestEveryMessageDeliveredOnceQuiet runs small fleets over a lossy network
// whose delays reorder messages (10 % loss, U[1,20] ms), with bursts from a
// few origins and no traffic after them, until nothing is in flight and no
// timer is armed. Every member must then have delivered every message
// exactly once: the last message of each origin and the messages before a
// member's first contact are repaired only by anti-entropy. The runs are
// seeded, so the outcome does not vary between runs of the test.
func TestEveryMessageDeliveredOnceQuiet(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			members := 8 + r.IntN(40)
			cfg := func(id NodeID, i int) Config {
				c := DefaultConfig(id, rand.New(rand.NewPCG(seed, uint64(i))))
				c.EagerFanout = 4
				c.EagerRedundancy = 1
				c.IHaveInterval, c.GraftTimeout = 10*time.Millisecond, 30*time.Millisecond
				c.AntiEntropyInterval, c.AntiEntropyRounds = 50*time.Millisecond, 3
				return c
			}
			sim := newLossySim(t, members, cfg, r)
			origins := 1 + r.IntN(3)
			at := time.Duration(0)
			for range 1 + r.IntN(30) {
				at += time.Duration(r.IntN(5)) * time.Millisecond
				sim.push(simEvent{at: at, to: r.IntN(origins), broadcast: true})
			}
			sim.run()
			for i, got := range sim.delivered {
				for _, id := range sim.broadcastIDs {
					if got[id] != 1 {
						t.Errorf("member %d delivered %v %d times", i, id, got[id])
					}
				}
			}
		})
	}
}

// simEvent delivers msg to node to, makes it broadcast, or ticks it.
type simEvent struct {
	at        time.Duration
	seq       int
	to        int
	msg       *Message
	broadcast bool
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// lossySim is a small discrete-event network: each message is lost with
// probability 0.1 or delayed U[1,20] ms; nodes are ticked at their
// NextDeadline.
type lossySim struct {
	t            *testing.T
	r            *rand.Rand
	nodes        []*Node
	index        map[NodeID]int
	q            simQueue
	seq          int
	delivered    []map[MessageID]int
	broadcastIDs []MessageID
}

func newLossySim(t *testing.T, n int, cfg func(NodeID, int) Config, r *rand.Rand) *lossySim {
	s := &lossySim{t: t, r: r, index: map[NodeID]int{}}
	ids := make([]NodeID, n)
	for i := range ids {
		ids[i] = NodeID(fmt.Sprintf("m%02d", i))
		s.index[ids[i]] = i
	}
	for i, id := range ids {
		node := New(cfg(id, i))
		node.SetPeers(ids)
		s.nodes = append(s.nodes, node)
		s.delivered = append(s.delivered, map[MessageID]int{})
	}
	return s
}

func (s *lossySim) push(e simEvent) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

func (s *lossySim) run() {
	armed := make([]time.Duration, len(s.nodes))
	for i := range armed {
		armed[i] = -1
	}
	for steps := 0; s.q.Len() > 0; steps++ {
		if steps > 5_000_000 {
			s.t.Fatal("not quiet after 5M events")
		}
		e := heap.Pop(&s.q).(simEvent)
		node := s.nodes[e.to]
		node.Tick(e.at)
		switch {
		case e.msg != nil:
			node.Step(*e.msg)
		case e.broadcast:
			s.broadcastIDs = append(s.broadcastIDs, node.Broadcast([]byte("x")))
		default:
			if armed[e.to] == e.at {
				armed[e.to] = -1
			}
		}
		out, dels := node.Ready()
		for _, env := range out {
			if s.r.Float64() < 0.1 {
				continue
			}
			msg := env.Msg
			s.push(simEvent{at: e.at + time.Duration(1+s.r.IntN(20))*time.Millisecond, to: s.index[env.To], msg: &msg})
		}
		for _, d := range dels {
			s.delivered[e.to][d.ID]++
		}
		if at, ok := node.NextDeadline(); ok && (armed[e.to] < 0 || at < armed[e.to]) {
			armed[e.to] = max(at, e.at)
			s.push(simEvent{at: armed[e.to], to: e.to})
		}
	}
}

// TestDigestBounded checks that a digest naming huge ranges of many origins
// neither grows the missing set beyond MaxMissing nor asks for more than a
// few windows of messages.
func TestDigestBounded(t *testing.T) {
	cfg := DefaultConfig("a", rand.New(rand.NewPCG(1, 1)))
	cfg.MaxMissing = 1 << 20
	n := New(cfg)
	n.SetPeers([]NodeID{"b"})
	m := Message{Kind: Digest, From: "b"}
	for i := range MaxRangesPerMessage {
		m.Ranges = append(m.Ranges, SeqRange{NodeID(fmt.Sprintf("o%05d", i)), 1, 1 << 62})
	}
	n.Step(m)
	if got, limit := len(n.missing.entries), 4*int(n.seen.window); got != limit {
		t.Fatalf("%d messages missing after a huge digest, want the budget %d", got, limit)
	}
	cfg.MaxMissing = 100
	n = New(cfg)
	n.Step(m)
	if got := len(n.missing.entries); got != 100 {
		t.Fatalf("%d messages missing, want MaxMissing = 100", got)
	}
}

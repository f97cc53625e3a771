package gossip

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// Piggyback carries the broadcast tree's lazy messages (IHave, Digest:
// plumtree.Config.PiggybackWait) on the packets memberlist sends anyway —
// probes, acks and the gossip of membership changes —, so that a lone
// broadcast costs its eager copies and little else in messages of its own.
// It is a membership.Carrier: JoinFleet passes the same one to membership
// and to the Node.
//
// The Node's goroutine queues a message with a deadline (hold); memberlist's
// goroutines put what fits on leaving packets (Outgoing), each message on
// up to CarryCopies of them, to whichever members they go to; the Node
// sends a message that no packet took by its deadline in a message of its
// own to the member the protocol named (expired). A carried message goes
// to a random member, not to the lazy or digest peer the protocol chose,
// and a packet carries every message waiting, so a lone broadcast's four
// lazy messages reach as many members as packets leave while they wait:
// about three on one packet each, with memberlist's WAN gossip (8 packets
// a second while it has changes to spread), so that a member that missed
// every copy was left untold with probability about e⁻³ (herald-sim: two
// members of 50 000 never delivered in a datagram row); on up to four, about
// e⁻⁵. The extra copies cost bytes on packets that leave anyway, not
// packets.
// Carried messages that arrive (Incoming) wait in a bounded channel for the
// Node: news of a message is repair information, so one that finds the
// channel full is dropped and counted, never waited for.
//
// Memberlist encrypts and authenticates its packets with the fleet key (as
// the transport authenticates frames), so only fleet members can put
// messages on them. The Node accepts only IHave and Digest this way: at
// worst a member named in one is asked for a message it cannot give.
//
// Lock order: Piggyback.mu is a leaf, taken by the Node's goroutine and by
// memberlist's (through the delegate, under memberlist's own locks).
type Piggyback struct {
	in chan []byte

	mu      sync.Mutex
	waiting []heldMsg

	carried, direct, received, dropped atomic.Uint64
}

type heldMsg struct {
	to       plumtree.NodeID
	b        []byte
	deadline time.Duration
	taken    int // packets that carried it
}

// CarryCopies is how many leaving packets carry each held message: at
// 8 packets a second, those of its 500 ms wait (WANConfig.PiggybackWait).
const CarryCopies = 4

// NewPiggyback returns a carrier whose incoming messages wait in a channel
// of the given capacity (default 1024).
func NewPiggyback(capacity int) *Piggyback {
	if capacity <= 0 {
		capacity = 1024
	}
	return &Piggyback{in: make(chan []byte, capacity)}
}

// maxWaiting bounds the queue: a member that cannot find carriers sends
// the rest in messages of their own at once.
const maxWaiting = 4096

// hold queues an encoded message for to until deadline. It reports false,
// without queueing, when the queue is full.
func (p *Piggyback) hold(to plumtree.NodeID, b []byte, deadline time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiting) >= maxWaiting {
		return false
	}
	p.waiting = append(p.waiting, heldMsg{to: to, b: b, deadline: deadline})
	return true
}

// expired removes the messages whose deadline is at or before now and
// returns those no packet carried, and the next deadline of those left (ok
// false if none).
func (p *Piggyback) expired(now time.Duration) (due []heldMsg, next time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.waiting[:0]
	for _, m := range p.waiting {
		switch {
		case m.deadline <= now:
			if m.taken == 0 {
				due = append(due, m)
			}
		default:
			if !ok || m.deadline < next {
				next, ok = m.deadline, true
			}
			kept = append(kept, m)
		}
	}
	clear(p.waiting[len(kept):])
	p.waiting = kept
	return due, next, ok
}

// Outgoing implements membership.Carrier: the oldest messages that fit. A
// message leaves the queue on its CarryCopies-th packet.
func (p *Piggyback) Outgoing(overhead, limit int) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]byte
	kept := p.waiting[:0]
	for _, m := range p.waiting {
		if cost := len(m.b) + overhead; cost <= limit {
			out = append(out, m.b)
			limit -= cost
			if m.taken == 0 {
				p.carried.Add(1)
			}
			if m.taken++; m.taken >= CarryCopies {
				continue
			}
		}
		kept = append(kept, m)
	}
	clear(p.waiting[len(kept):])
	p.waiting = kept
	return out
}

// Incoming implements membership.Carrier.
func (p *Piggyback) Incoming(b []byte) {
	select {
	case p.in <- bytes.Clone(b):
		p.received.Add(1)
	default:
		p.dropped.Add(1)
	}
}

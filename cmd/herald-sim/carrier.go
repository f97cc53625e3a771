package main

import (
	"math/rand/v2"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// carriers models packets that members send anyway (-carriers R):
// memberlist's gossip and probes, which leave every member at about R per
// second, each to a random member, as UDP datagrams (the link's delay and
// loss, never TCP). A member's packets leave periodically, 1/R apart from
// a phase of its own. The messages the protocol marks Piggyback (IHave,
// Digest: plumtree.Config.PiggybackWait) ride on the member's next
// carryCopies packets, each of which carries all that are waiting to
// whichever member it goes to (as gossip.Piggyback does); one that no
// packet took within the wait goes to its own member as a message of its
// own (counted in msgs/member). Carried messages are counted apart (once
// each): they add no packet.
//
// The model does not bound a packet's size (memberlist's is about 1400
// bytes; an IHave or a digest of a few origins is tens of bytes).
type carriers struct {
	period  time.Duration
	wait    time.Duration
	phase   []time.Duration
	pending [][]carried // per member
	armed   []bool      // a carrier event is queued for the member
	r       *rand.Rand
	n       int
}

type carried struct {
	env      plumtree.Envelope
	deadline time.Duration
	taken    int
}

// carryCopies is how many packets carry each message (gossip.CarryCopies).
const carryCopies = 4

func newCarriers(sc *scenario, seed uint64) *carriers {
	c := &carriers{
		period:  time.Duration(float64(time.Second) / sc.carriers),
		wait:    sc.piggybackWait,
		phase:   make([]time.Duration, sc.n),
		pending: make([][]carried, sc.n),
		armed:   make([]bool, sc.n),
		r:       rand.New(rand.NewPCG(seed, 1<<56)),
		n:       sc.n,
	}
	for i := range c.phase {
		c.phase[i] = time.Duration(c.r.Int64N(int64(c.period)))
	}
	return c
}

// next is member i's first packet at or after now.
func (c *carriers) next(i int32, now time.Duration) time.Duration {
	p := c.phase[i]
	if now <= p {
		return p
	}
	k := (now - p + c.period - 1) / c.period
	return p + k*c.period
}

// hold queues env at member i; it reports whether a carrier event must be
// scheduled (at next(i, now)) and the message's deadline, when an expiry
// event must look at it.
func (c *carriers) hold(i int32, env plumtree.Envelope, now time.Duration) (schedule bool, deadline time.Duration) {
	deadline = now + c.wait
	c.pending[i] = append(c.pending[i], carried{env: env, deadline: deadline})
	schedule = !c.armed[i]
	c.armed[i] = true
	return schedule, deadline
}

// take puts member i's waiting messages on a packet that leaves now, to a
// random other member; first counts those carried for the first time.
// more reports whether some wait for another packet (armed stays set).
func (c *carriers) take(i int32) (to int32, msgs []plumtree.Message, first int, more bool) {
	kept := c.pending[i][:0]
	for _, p := range c.pending[i] {
		msgs = append(msgs, p.env.Msg)
		if p.taken == 0 {
			first++
		}
		if p.taken++; p.taken < carryCopies {
			kept = append(kept, p)
		}
	}
	c.pending[i] = kept
	more = len(kept) > 0
	c.armed[i] = more
	to = int32(c.r.IntN(c.n - 1))
	if to >= i {
		to++
	}
	return to, msgs, first, more
}

// expired removes member i's messages whose wait is over and returns those
// no packet carried.
func (c *carriers) expired(i int32, now time.Duration) []plumtree.Envelope {
	var out []plumtree.Envelope
	kept := c.pending[i][:0]
	for _, p := range c.pending[i] {
		if p.deadline <= now {
			if p.taken == 0 {
				out = append(out, p.env)
			}
		} else {
			kept = append(kept, p)
		}
	}
	c.pending[i] = kept
	return out
}

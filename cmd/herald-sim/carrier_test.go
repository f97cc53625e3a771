package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// TestCarrierQueue: a waiting message rides on the member's next
// carryCopies packets; one that no packet took by its deadline comes back
// to be sent on its own, one that a packet took does not.
func TestCarrierQueue(t *testing.T) {
	sc := &scenario{n: 10, carriers: 10, piggybackWait: 50 * time.Millisecond}
	c := newCarriers(sc, 1)
	env := plumtree.Envelope{To: "m000002", Msg: plumtree.Message{Kind: plumtree.IHave, From: "m000001"}, Piggyback: true}
	if schedule, deadline := c.hold(1, env, 0); !schedule || deadline != 50*time.Millisecond {
		t.Fatalf("hold: schedule %v, deadline %v", schedule, deadline)
	}
	if schedule, _ := c.hold(1, env, time.Millisecond); schedule {
		t.Fatal("a second message scheduled a second carrier event")
	}
	for packet := range carryCopies {
		to, msgs, first, more := c.take(1)
		if to == 1 || len(msgs) != 2 || (packet == 0) != (first == 2) || more != (packet < carryCopies-1) {
			t.Fatalf("packet %d: to %d, %d messages, %d first, more %v", packet, to, len(msgs), first, more)
		}
	}
	c.hold(3, env, 0)
	if got := c.expired(1, time.Second); len(got) != 0 {
		t.Fatalf("member 1: %d to send on their own, want none (carried)", len(got))
	}
	if got := c.expired(3, 10*time.Millisecond); len(got) != 0 {
		t.Fatal("member 3: sent on its own before its deadline")
	}
	if got := c.expired(3, 50*time.Millisecond); len(got) != 1 {
		t.Fatalf("member 3: %d to send on their own at the deadline, want 1", len(got))
	}
	if at := c.next(3, c.phase[3]+1); at != c.phase[3]+c.period {
		t.Fatalf("next packet %v, want phase + period %v", at, c.phase[3]+c.period)
	}
}

// TestCarriersTakeTheLazyTraffic: with packets sent anyway, a lone
// broadcast's IHave and digests ride on them (counted apart) and the
// messages per member are the copies; without, they are messages.
func TestCarriersTakeTheLazyTraffic(t *testing.T) {
	o := simOptions()
	o.loss, o.seeds, o.broadcasts = 0, 1, 1
	for _, carriers := range []float64{0, 8} {
		o.carriers, o.pbWait = carriers, 500*time.Millisecond
		sc := newScenario(o, o.seed)
		cfg := func(id plumtree.NodeID, r *rand.Rand) plumtree.Config {
			c := plumtree.WANConfig(id, r)
			c.PiggybackWait = o.pbWait
			return c
		}
		st := runHerald(sc, cfg, o.seed)
		if st.missed != 0 {
			t.Fatalf("carriers %g: %d missed without loss", carriers, st.missed)
		}
		switch {
		case carriers == 0 && (st.carried != 0 || st.control == 0):
			t.Errorf("no carriers: %d carried, %d control messages", st.carried, st.control)
		case carriers > 0 && (st.carried == 0 || st.control != 0):
			t.Errorf("carriers %g: %d carried, %d control messages: want the lazy traffic carried, none on its own", carriers, st.carried, st.control)
		}
	}
}

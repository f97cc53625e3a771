package plumtree

import (
	"testing"
	"time"
)

// TestPiggybackMarksLazyTraffic: with PiggybackWait set, a broadcast's
// IHave and Digest messages are marked for carrying on packets sent anyway
// and nothing else is (copies, and the welcome answering a Hello, must
// reach their member); without it, nothing is marked.
func TestPiggybackMarksLazyTraffic(t *testing.T) {
	for _, wait := range []time.Duration{0, 200 * time.Millisecond} {
		cfg := func(id NodeID, i int) Config {
			c := linksConfig(LayoutRing)(id, i)
			c.PiggybackWait = wait
			return c
		}
		nodes, index := linksFleet(100, cfg)
		marked := map[Kind]int{}
		plain := map[Kind]int{}
		sentPairs(nodes, index, 5, 0, func(e Envelope) {
			if e.Piggyback {
				marked[e.Msg.Kind]++
			} else {
				plain[e.Msg.Kind]++
			}
		})
		if plain[Gossip] == 0 || marked[Gossip] != 0 {
			t.Fatalf("wait %v: copies %d plain, %d marked: copies must go in messages of their own", wait, plain[Gossip], marked[Gossip])
		}
		for _, k := range []Kind{IHave, Digest} {
			if wait == 0 && (marked[k] != 0 || plain[k] == 0) {
				t.Errorf("no wait: %v %d marked, %d plain: want all plain", k, marked[k], plain[k])
			}
			if wait > 0 && (marked[k] == 0 || plain[k] != 0) {
				t.Errorf("wait %v: %v %d marked, %d plain: want all marked", wait, k, marked[k], plain[k])
			}
		}
	}
}

// TestAnyMemberActsOnCarriedNews: an IHave or a Digest carried to a member
// that is not the sender's lazy or digest peer still makes it graft what
// it lacks from the sender.
func TestAnyMemberActsOnCarriedNews(t *testing.T) {
	for _, kind := range []Kind{IHave, Digest} {
		nodes, _ := linksFleet(50, linksConfig(LayoutRing))
		src, dst := nodes[3], nodes[40]
		id := src.Broadcast([]byte("x"))
		src.Ready()
		msg := Message{Kind: kind, From: src.cfg.ID}
		if kind == IHave {
			msg.IDs = []MessageID{id}
		} else {
			msg.Ranges = []SeqRange{{id.Origin, id.Seq, id.Seq}}
		}
		dst.Step(msg)
		dst.Tick(2 * time.Second)
		out, _ := dst.Ready()
		if len(out) != 1 || out[0].Msg.Kind != Graft || out[0].To != src.cfg.ID || out[0].Msg.IDs[0] != id {
			t.Fatalf("%v from a member that is not a peer: %s sent %v, want a Graft of %v to %s", kind, dst.cfg.ID, out, id, src.cfg.ID)
		}
	}
}

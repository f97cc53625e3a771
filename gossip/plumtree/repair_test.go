package plumtree

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestGraftRetriesBackOff: a member that hears of a message it lacks and
// gets no answer grafts after GraftTimeout, then retries 1, 2, 4, … 64
// timeouts apart until MaxGraftAttempts, so a slow or lagging source is
// given about 190 timeouts rather than MaxGraftAttempts.
func TestGraftRetriesBackOff(t *testing.T) {
	cfg := DefaultConfig("b", rand.New(rand.NewPCG(1, 1)))
	cfg.AntiEntropyRounds = 0
	n := New(cfg)
	n.SetPeers([]NodeID{"a", "c"})
	n.Step(Message{Kind: IHave, From: "a", IDs: []MessageID{{"a", 1}}})
	var grafts []time.Duration
	for now := time.Duration(0); now < 2*time.Second; now += time.Millisecond {
		n.Tick(now)
		out, _ := n.Ready()
		for _, e := range out {
			if e.Msg.Kind == Graft {
				grafts = append(grafts, now)
			}
		}
	}
	gt := cfg.GraftTimeout
	want := []time.Duration{gt}
	for k := 1; k < cfg.MaxGraftAttempts; k++ {
		want = append(want, want[k-1]+gt<<min(k-1, 6))
	}
	if len(grafts) != len(want) {
		t.Fatalf("grafts at %v, want at %v", grafts, want)
	}
	for i := range want {
		if grafts[i] != want[i] {
			t.Fatalf("grafts at %v, want at %v", grafts, want)
		}
	}
}

// TestGraftBeforeDeliveryPushesLater: a graft for a message the receiver
// does not have yet makes the link eager, so the grafter gets the message
// the moment the receiver delivers it.
func TestGraftBeforeDeliveryPushesLater(t *testing.T) {
	n := New(DefaultConfig("b", rand.New(rand.NewPCG(1, 1))))
	n.SetPeers([]NodeID{"a", "c"})
	n.Step(Message{Kind: Gossip, From: "a", IDs: []MessageID{{"a", 2}}, Payload: []byte("2"), Round: 1})
	n.Ready()
	n.Step(Message{Kind: Graft, From: "c", IDs: []MessageID{{"a", 1}}})
	if out, _ := n.Ready(); len(out) != 0 {
		t.Fatalf("answered a graft for a message it lacks: %v", out)
	}
	n.Step(Message{Kind: Gossip, From: "a", IDs: []MessageID{{"a", 1}}, Payload: []byte("1"), Round: 1})
	out, _ := n.Ready()
	toC := 0
	for _, e := range out {
		if e.To == "c" && e.Msg.Kind == Gossip && e.Msg.IDs[0] == (MessageID{"a", 1}) {
			toC++
		}
	}
	if toC != 1 {
		t.Fatalf("%d copies of a/1 to the grafter c, want 1: %v", toC, out)
	}
}

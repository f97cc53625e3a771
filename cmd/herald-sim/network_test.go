package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// fixedLink is a scenario's link model with a constant delay and no loss.
func fixedLink(d time.Duration) linkModel { return linkModel{minDelay: d, maxDelay: d} }

// TestSendCostSerialisesSends: three messages a member sends at once leave
// D apart, whatever their receivers; another member's sends do not wait.
func TestSendCostSerialisesSends(t *testing.T) {
	sc := &scenario{n: 4, link: fixedLink(10 * time.Millisecond), sendCost: time.Millisecond}
	nw := newNetwork(sc, rand.New(rand.NewPCG(1, 1)))
	for k, to := range []int32{1, 2, 3} {
		at, ok := nw.send(0, 0, to)
		if want := time.Duration(k+1)*time.Millisecond + 10*time.Millisecond; !ok || at != want {
			t.Errorf("send %d from 0: arrives %v (%v), want %v", k, at, ok, want)
		}
	}
	if at, _ := nw.send(0, 1, 0); at != 11*time.Millisecond {
		t.Errorf("member 1's first send arrives %v, want 11ms: it waited for member 0's", at)
	}
	// Once the member is idle again, a send costs D only.
	if at, _ := nw.send(time.Second, 0, 1); at != time.Second+11*time.Millisecond {
		t.Errorf("idle member's send arrives %v, want 1.011s", at)
	}
}

// scriptedLegs returns each packet's fate in turn: a delay, or lost (−1).
func scriptedLegs(t *testing.T, fates ...time.Duration) func(int32) (time.Duration, bool) {
	return func(int32) (time.Duration, bool) {
		if len(fates) == 0 {
			t.Fatal("more packets than scripted")
		}
		d := fates[0]
		fates = fates[1:]
		return d, d >= 0
	}
}

// TestTCPSetupOrderAndRetransmit: the first message waits for the
// handshake, a lost segment arrives an RTO later, and the segment sent
// after it, though it crossed the link first, is delivered after it.
func TestTCPSetupOrderAndRetransmit(t *testing.T) {
	const ms = time.Millisecond
	tl := newTCPLinks(scriptedLegs(t,
		10*ms, 10*ms, // SYN, SYN-ACK: ready at 20 ms
		-1, 15*ms, // first segment lost, its retransmit takes 15 ms
		5*ms,          // second segment
		-1, -1, 10*ms, // handshake of 0→2: SYN lost twice (1 s, then 2 s)
		10*ms, 10*ms, // SYN-ACK, data
	))
	if at, ok := tl.send(0, 0, 1); !ok || at != 20*ms+dataRTO+15*ms {
		t.Errorf("first message arrives %v (%v), want handshake 20ms + RTO + 15ms", at, ok)
	}
	if at, ok := tl.send(ms, 0, 1); !ok || at != 20*ms+dataRTO+15*ms {
		t.Errorf("second message delivered %v (%v), want with the first: in order", at, ok)
	}
	if at, ok := tl.send(0, 0, 2); !ok || at != 3*time.Second+30*ms {
		t.Errorf("message over a connection whose SYN was lost twice arrives %v (%v), want 3.03s", at, ok)
	}
}

// TestTCPRepairsLoss: at 30 % loss every message still arrives over TCP,
// while about 30 % of datagrams do not.
func TestTCPRepairsLoss(t *testing.T) {
	for _, link := range []string{"datagram", "tcp"} {
		sc := &scenario{n: 10, link: linkModel{minDelay: time.Millisecond, maxDelay: 2 * time.Millisecond, loss: 0.3}, tcp: link == "tcp"}
		nw := newNetwork(sc, rand.New(rand.NewPCG(3, 3)))
		lost := 0
		for k := range 1000 {
			if _, ok := nw.send(time.Duration(k)*time.Millisecond, int32(k%10), int32((k+1)%10)); !ok {
				lost++
			}
		}
		switch {
		case link == "tcp" && lost != 0:
			t.Errorf("tcp lost %d of 1000", lost)
		case link == "datagram" && (lost < 250 || lost > 350):
			t.Errorf("datagram lost %d of 1000 at 30 %% loss", lost)
		}
	}
}

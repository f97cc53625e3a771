package main

import (
	"math/rand/v2"
	"time"
)

// linkModel decides, for each packet, whether it is lost and how long it
// takes. Delay is uniform in [minDelay, maxDelay] per packet, so datagrams
// on one link may overtake each other, as UDP datagrams can.
//
// Bursty loss follows a Gilbert–Elliott chain per receiving member (a
// congested downlink), advanced once per packet that member is sent: from
// good to bad with probability geP, back with geR; in the bad state packets
// are lost with probability geLoss instead of loss.
type linkModel struct {
	minDelay, maxDelay time.Duration
	loss               float64
	geP, geR, geLoss   float64
	bad                []bool // per receiver, only with bursty loss
}

func (l *linkModel) reset(n int) {
	if l.geP > 0 {
		l.bad = make([]bool, n)
	}
}

// draw returns the delay of one packet to member to, or false if it is lost.
func (l *linkModel) draw(r *rand.Rand, to int32) (time.Duration, bool) {
	loss := l.loss
	if l.bad != nil {
		if l.bad[to] {
			if r.Float64() < l.geR {
				l.bad[to] = false
			}
		} else if r.Float64() < l.geP {
			l.bad[to] = true
		}
		if l.bad[to] {
			loss = l.geLoss
		}
	}
	if loss > 0 && r.Float64() < loss {
		return 0, false
	}
	return l.minDelay + time.Duration(r.Int64N(int64(l.maxDelay-l.minDelay)+1)), true
}

// network is what both algorithms send through: a member's sends leave one
// after the other, sendCost apart (a herald writes each copy itself: the
// model of -send-cost), then cross a link that is either a datagram
// (linkModel alone) or a TCP connection (tcpLinks, -link tcp).
type network struct {
	link     linkModel
	tcp      *tcpLinks // nil: datagrams
	sendCost time.Duration
	busy     []time.Duration // per member: when its previous send has left
	r        *rand.Rand
}

func newNetwork(sc *scenario, r *rand.Rand) *network {
	nw := &network{link: sc.link, sendCost: sc.sendCost, r: r}
	nw.link.reset(sc.n)
	if sc.sendCost > 0 {
		nw.busy = make([]time.Duration, sc.n)
	}
	if sc.tcp {
		nw.tcp = newTCPLinks(func(to int32) (time.Duration, bool) { return nw.link.draw(nw.r, to) })
	}
	return nw
}

// send returns when a message that from sends to to at now arrives, or
// false if it never does.
func (nw *network) send(now time.Duration, from, to int32) (time.Duration, bool) {
	if nw.busy != nil {
		now = max(now, nw.busy[from]) + nw.sendCost
		nw.busy[from] = now
	}
	if nw.tcp != nil {
		return nw.tcp.send(now, from, to)
	}
	d, ok := nw.link.draw(nw.r, to)
	return now + d, ok
}

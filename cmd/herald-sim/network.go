package main

import (
	"math/rand/v2"
	"time"
)

// linkModel decides, for each message, whether it is lost and how long it
// takes. Delay is uniform in [minDelay, maxDelay] per message, so messages
// on one link may overtake each other, as UDP datagrams can.
//
// Bursty loss follows a Gilbert–Elliott chain per receiving member (a
// congested downlink), advanced once per message that member is sent: from
// good to bad with probability geP, back with geR; in the bad state messages
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

// send returns the delay of a message to member to, or false if it is lost.
func (l *linkModel) send(r *rand.Rand, to int32) (time.Duration, bool) {
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

package main

import "time"

// tcpLinks models one TCP connection per ordered pair of members, as
// gossip/transport opens them (the sender dials):
//
//   - set-up on first use: the first message waits for SYN and SYN-ACK (one
//     round trip); a lost handshake packet is sent again after the initial
//     RTO of 1 s, doubling (Linux's TCP_TIMEOUT_INIT);
//   - loss repaired by retransmission after an RTO of 200 ms, doubling per
//     further loss of the same segment (Linux's TCP_RTO_MIN; a lone message
//     gets no duplicate ACKs, so no fast retransmit);
//   - in-order delivery: a message is handed to the receiver no earlier than
//     the one sent before it on the same connection (head-of-line blocking),
//     so the copies one member sends another share their fate.
//
// Each message is one segment; connections stay open for the whole run.
// With -dial ahead (the default, as the daemon does since gossip/transport's
// Keep) the connections along each member's links are open before the
// run or dialled when the link appears (predial.go); others are still set
// up on first use.
// After maxRetries lost transmissions of one segment the connection is
// considered broken and the message lost, as a write would time out.
type tcpLinks struct {
	conns map[uint64]*tcpConn
	leg   func(to int32) (time.Duration, bool) // one packet's delay, or lost
}

type tcpConn struct {
	ready     time.Duration // handshake done at the sender: data may leave
	delivered time.Duration // when the previous segment was handed over
	broken    bool
}

const (
	synRTO     = time.Second
	dataRTO    = 200 * time.Millisecond
	maxRetries = 8
)

func newTCPLinks(leg func(to int32) (time.Duration, bool)) *tcpLinks {
	return &tcpLinks{conns: make(map[uint64]*tcpConn), leg: leg}
}

func (t *tcpLinks) send(now time.Duration, from, to int32) (time.Duration, bool) {
	c := t.dial(now, from, to)
	if c.broken {
		return 0, false
	}
	at, ok := t.deliver(max(now, c.ready), to, dataRTO)
	if !ok {
		c.broken = true
		return 0, false
	}
	at = max(at, c.delivered)
	c.delivered = at
	return at, true
}

// dial returns the connection from→to, setting it up at now if there is
// none: SYN, then SYN-ACK.
func (t *tcpLinks) dial(now time.Duration, from, to int32) *tcpConn {
	key := uint64(uint32(from))<<32 | uint64(uint32(to))
	c := t.conns[key]
	if c == nil {
		c = &tcpConn{}
		t.conns[key] = c
		syn, ok1 := t.deliver(now, to, synRTO)
		ack, ok2 := t.deliver(syn, from, synRTO)
		c.ready, c.broken = ack, !ok1 || !ok2
	}
	return c
}

// opened records a connection from→to set up before the run: ready at once.
func (t *tcpLinks) opened(from, to int32) {
	key := uint64(uint32(from))<<32 | uint64(uint32(to))
	if t.conns[key] == nil {
		t.conns[key] = &tcpConn{}
	}
}

// deliver transmits one packet at now towards to until a copy arrives,
// waiting rto (doubling) after each loss.
func (t *tcpLinks) deliver(now time.Duration, to int32, rto time.Duration) (time.Duration, bool) {
	for range maxRetries {
		if d, ok := t.leg(to); ok {
			return now + d, true
		}
		now += rto
		rto *= 2
	}
	return 0, false
}

package membership

import "github.com/hashicorp/memberlist"

// Carrier lets another layer put small messages on the packets memberlist
// sends anyway (probes, acks, and gossip of membership changes), and
// receive those other members put there: the broadcast tree's IHave and
// Digest ride on them (gossip.Piggyback). Memberlist's packets go to
// members it picks, so a carried message reaches some member, not a chosen
// one.
type Carrier interface {
	// Outgoing returns messages for a packet that is leaving now: each
	// costs its length plus overhead bytes, all of them at most limit. It
	// must not block: it runs on memberlist's goroutines.
	Outgoing(overhead, limit int) [][]byte
	// Incoming hands over a message a packet carried. It must not block,
	// and must copy b if it keeps it.
	Incoming(b []byte)
}

// carrierTag starts every carried message, so that memberlist user
// messages of another kind, should there ever be any, are not mistaken for
// them.
const carrierTag = 'P'

// carried is the memberlist side of a Carrier: it offers the carrier's
// messages only to packets that carry something else.
//
// Memberlist asks its delegate for broadcasts both when a packet is leaving
// (a ping, an ack: the space left after it) and in each gossip round, where
// a packet leaves only if something is returned. A round with nothing of
// memberlist's own queued asks with the whole packet's budget (full), so a
// call with that budget is left empty: answering it would send a packet
// that exists only for the carrier. full is computed from memberlist's
// framing (packetBudget); TestCarrierBudgetMatchesMemberlist checks it
// against the calls of a real memberlist, so that a new version that
// frames packets differently fails a test rather than the rule.
type carried struct {
	c    Carrier
	full int
}

func (d *carried) outgoing(overhead, limit int) [][]byte {
	if d == nil || d.c == nil || limit >= d.full {
		return nil
	}
	msgs := d.c.Outgoing(overhead+1, limit)
	for i, m := range msgs {
		b := make([]byte, 0, len(m)+1)
		msgs[i] = append(append(b, carrierTag), m...)
	}
	return msgs
}

// packetBudget is the room memberlist's gossip round offers its delegate
// in an otherwise empty packet (memberlist's gossip(): the UDP buffer less
// the compound header, the label's framing and, with encryption, its
// overhead for protocol versions ≥ 2).
func packetBudget(mc *memberlist.Config) int {
	b := mc.UDPBufferSize - 2
	if mc.Label != "" {
		b -= 2 + len(mc.Label)
	}
	if mc.EncryptionEnabled() {
		if mc.ProtocolVersion < 2 {
			b -= 45
		} else {
			b -= 29
		}
	}
	return b
}

func (d *carried) incoming(b []byte) {
	if d == nil || d.c == nil || len(b) < 1 || b[0] != carrierTag {
		return
	}
	d.c.Incoming(b[1:])
}

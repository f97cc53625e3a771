package plumtree

import (
	"fmt"
	"strings"
)

// NodeID names a member of the fleet. It must be unique in the fleet and
// stable for the life of the member: the tree shape is computed from the
// sorted set of NodeIDs, so every member must spell a given member the same way.
type NodeID string

// MessageID identifies one broadcast globally: the origin plus a sequence
// number that the origin never reuses. Sequence numbers of one origin are
// dense (1, 2, 3, …) so a receiver can notice a gap and repair it.
type MessageID struct {
	Origin NodeID
	Seq    uint64
}

func (id MessageID) String() string { return fmt.Sprintf("%s/%d", id.Origin, id.Seq) }

// Kind is the type of a protocol message.
type Kind uint8

const (
	// Gossip carries a payload, pushed eagerly along tree links or sent in
	// answer to a Graft. IDs holds exactly the one message it carries.
	Gossip Kind = iota + 1
	// IHave lazily announces message IDs the sender has delivered, batched.
	IHave
	// Graft asks the receiver for the payloads of IDs, and to push the rest
	// of those origins' messages eagerly to the sender from now on.
	Graft
	// Prune tells the receiver that its eager copies of the origins named in
	// IDs are redundant for the sender: push them lazily instead.
	Prune
	// Digest is periodic anti-entropy: for each recently active origin, the
	// range of sequence numbers the sender can serve from its cache
	// (Ranges). The receiver grafts what it lacks in those ranges. New in
	// wire version 2.
	Digest
	// Hello introduces the sender to a member whose view may not hold it
	// yet: a member that has just joined sends one to its parent in each
	// ring-layout tree (Node.Announce), so that it is pushed to before
	// membership gossip reaches its parents. New in wire version 3.
	Hello
)

func (k Kind) String() string {
	switch k {
	case Gossip:
		return "Gossip"
	case IHave:
		return "IHave"
	case Graft:
		return "Graft"
	case Prune:
		return "Prune"
	case Digest:
		return "Digest"
	case Hello:
		return "Hello"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// IsPayload reports whether messages of this kind carry a broadcast's
// payload (as opposed to control traffic).
func (k Kind) IsPayload() bool { return k == Gossip }

// Message is one protocol message between two members.
type Message struct {
	Kind Kind
	// From is the member that sent the message (not the origin).
	From NodeID
	// IDs are the messages this one is about; exactly one for Gossip.
	IDs []MessageID
	// Payload is the broadcast's content; only for Gossip.
	Payload []byte
	// Ranges are the origins' sequence ranges of a Digest; only for Digest.
	Ranges []SeqRange
	// Round is the number of hops the payload will have travelled from its
	// origin once this message arrives (1 for the origin's own pushes).
	Round uint16
	// Arc, on a Gossip pushed along a ring-layout tree, names the arc the
	// receiver is to cover (see ring.go); zero otherwise. New in wire
	// version 3.
	Arc ArcRef
}

// ArcRef names an arc of a ring-layout tree: arc Index of level Level
// (1 … L+1; L+1 marks a leaf, which forwards nothing) in tree Tree. The
// zero ArcRef names none.
type ArcRef struct {
	Tree  uint8
	Level uint8
	Index uint32
}

func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s from=%s", m.Kind, m.From)
	if len(m.IDs) > 0 {
		b.WriteString(" ids=")
		for i, id := range m.IDs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(id.String())
		}
	}
	if len(m.Ranges) > 0 {
		b.WriteString(" ranges=")
		for i, r := range m.Ranges {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(r.String())
		}
	}
	if m.Kind == Gossip {
		fmt.Fprintf(&b, " round=%d payload=%q", m.Round, m.Payload)
		if m.Arc != (ArcRef{}) {
			fmt.Fprintf(&b, " arc=%d/%d/%d", m.Arc.Tree, m.Arc.Level, m.Arc.Index)
		}
	}
	return b.String()
}

// SeqRange is one origin's entry in a Digest: the sender has delivered
// (and still caches, so it can answer a Graft) the messages of Origin with
// sequence numbers in [Lo, Hi] — all of them, except those it is itself
// still missing.
type SeqRange struct {
	Origin NodeID
	Lo, Hi uint64
}

func (r SeqRange) String() string { return fmt.Sprintf("%s/[%d..%d]", r.Origin, r.Lo, r.Hi) }

// Envelope is a message the driver must send to To. Sending is best effort:
// the protocol repairs losses itself.
type Envelope struct {
	To  NodeID
	Msg Message
	// Piggyback marks an IHave or Digest that any member may receive
	// (Config.PiggybackWait): the driver may carry it on a packet that
	// leaves anyway, to whichever member that packet goes to, and sends it
	// to To only if no such packet left within the wait.
	Piggyback bool
}

// Delivery is a broadcast delivered to the application, exactly once per
// MessageID while the ID is remembered (see Config.SeenWindow).
type Delivery struct {
	ID      MessageID
	Payload []byte
	// Hops is the number of links the payload travelled (0 at the origin).
	Hops int
}

package plumtree

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Wire limits. The decoder refuses anything larger so that a corrupt or
// hostile datagram cannot make a member allocate without bound.
const (
	// WireVersion is the newest wire format, the first byte of an encoded
	// message. Version 2 added Digest and its ranges; a message of the other
	// kinds is still encoded as version 1, which members of either version
	// decode, so a fleet can be upgraded one member at a time (a version-1
	// member drops Digests as malformed and simply gets no anti-entropy).
	// Version 3 adds a Gossip's Arc (ring layout); a Gossip without one is
	// still version 1.
	WireVersion = 3
	// MaxNodeIDLen bounds a NodeID on the wire (its length is one byte).
	MaxNodeIDLen = 255
	// MaxIDsPerMessage bounds the IDs batched into one message.
	MaxIDsPerMessage = 4096
	// MaxPayloadSize bounds a Gossip payload.
	MaxPayloadSize = 1 << 20
	// MaxRangesPerMessage bounds the origins of one Digest.
	MaxRangesPerMessage = 4096
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("plumtree: malformed message")

// MarshalBinary encodes m as
//
//	version u8 | kind u8 | round u16be | len u8, from | count uvarint,
//	count × (len u8, origin | seq uvarint) | len uvarint, payload
//
// and, in version 2 (Digest only), then
//
//	count uvarint, count × (len u8, origin | lo uvarint | hi−lo uvarint)
//
// or, in version 3 (Gossip with an Arc, and Hello), then
//
//	tree u8 | level u8 | index uvarint
//
// It refuses messages that UnmarshalBinary would refuse, so a member never
// sends what its peers must drop.
func (m *Message) MarshalBinary() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	version := byte(1)
	switch {
	case m.Kind == Digest:
		version = 2
	case m.Arc != (ArcRef{}) || m.Kind == Hello:
		version = 3
	}
	size := 4 + 1 + len(m.From) + binary.MaxVarintLen64 + binary.MaxVarintLen64 + len(m.Payload)
	for _, id := range m.IDs {
		size += 1 + len(id.Origin) + binary.MaxVarintLen64
	}
	if version == 2 {
		size += binary.MaxVarintLen64
		for _, r := range m.Ranges {
			size += 1 + len(r.Origin) + 2*binary.MaxVarintLen64
		}
	}
	b := make([]byte, 0, size)
	b = append(b, version, byte(m.Kind))
	b = binary.BigEndian.AppendUint16(b, m.Round)
	b = append(b, byte(len(m.From)))
	b = append(b, m.From...)
	b = binary.AppendUvarint(b, uint64(len(m.IDs)))
	for _, id := range m.IDs {
		b = append(b, byte(len(id.Origin)))
		b = append(b, id.Origin...)
		b = binary.AppendUvarint(b, id.Seq)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Payload)))
	b = append(b, m.Payload...)
	if version == 2 {
		b = binary.AppendUvarint(b, uint64(len(m.Ranges)))
		for _, r := range m.Ranges {
			b = append(b, byte(len(r.Origin)))
			b = append(b, r.Origin...)
			b = binary.AppendUvarint(b, r.Lo)
			b = binary.AppendUvarint(b, r.Hi-r.Lo)
		}
	}
	if version == 3 {
		b = append(b, m.Arc.Tree, m.Arc.Level)
		b = binary.AppendUvarint(b, uint64(m.Arc.Index))
	}
	return b, nil
}

// UnmarshalBinary decodes b into m. It never panics, checks every length
// against both the limits and the bytes left, rejects trailing bytes and
// messages that break the rules of their Kind. Payload aliases b.
func (m *Message) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	version := d.byte("version")
	if d.err == nil && (version < 1 || version > WireVersion) {
		return fmt.Errorf("%w: unknown version %d", ErrMalformed, version)
	}
	var out Message
	out.Kind = Kind(d.byte("kind"))
	out.Round = d.uint16("round")
	out.From = NodeID(d.shortString("sender"))
	if n := d.uvarint("id count"); d.err == nil {
		if n > MaxIDsPerMessage {
			return fmt.Errorf("%w: %d ids, limit %d", ErrMalformed, n, MaxIDsPerMessage)
		}
		// Each ID takes at least two bytes, so n is also bounded by the input.
		if n > uint64(len(d.b)/2) {
			return fmt.Errorf("%w: %d ids in %d bytes", ErrMalformed, n, len(d.b))
		}
		if n > 0 {
			out.IDs = make([]MessageID, n)
		}
		for i := range out.IDs {
			out.IDs[i].Origin = NodeID(d.shortString("origin"))
			out.IDs[i].Seq = d.uvarint("sequence")
		}
	}
	if n := d.uvarint("payload length"); d.err == nil {
		if n > MaxPayloadSize {
			return fmt.Errorf("%w: payload of %d bytes, limit %d", ErrMalformed, n, MaxPayloadSize)
		}
		if p := d.take(int(n), "payload"); n > 0 {
			out.Payload = p
		}
	}
	if version == 2 {
		if n := d.uvarint("range count"); d.err == nil {
			if n > MaxRangesPerMessage {
				return fmt.Errorf("%w: %d ranges, limit %d", ErrMalformed, n, MaxRangesPerMessage)
			}
			// Each range takes at least four bytes.
			if n > uint64(len(d.b)/4) {
				return fmt.Errorf("%w: %d ranges in %d bytes", ErrMalformed, n, len(d.b))
			}
			if n > 0 {
				out.Ranges = make([]SeqRange, n)
			}
			for i := range out.Ranges {
				r := &out.Ranges[i]
				r.Origin = NodeID(d.shortString("range origin"))
				r.Lo = d.uvarint("range start")
				span := d.uvarint("range span")
				if d.err == nil && span > math.MaxUint64-r.Lo {
					return fmt.Errorf("%w: range %d+%d overflows", ErrMalformed, r.Lo, span)
				}
				r.Hi = r.Lo + span
			}
		}
	}
	if version == 3 {
		out.Arc.Tree = d.byte("arc tree")
		out.Arc.Level = d.byte("arc level")
		idx := d.uvarint("arc index")
		if d.err == nil && idx > math.MaxUint32 {
			return fmt.Errorf("%w: arc index %d", ErrMalformed, idx)
		}
		out.Arc.Index = uint32(idx)
		if d.err == nil && out.Arc == (ArcRef{}) && out.Kind != Hello {
			return fmt.Errorf("%w: version 3 %v without an arc", ErrMalformed, out.Kind)
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	if err := out.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if out.Kind == Digest && version != 2 {
		return fmt.Errorf("%w: Digest in wire version %d", ErrMalformed, version)
	}
	if out.Kind == Hello && version != 3 {
		return fmt.Errorf("%w: Hello in wire version %d", ErrMalformed, version)
	}
	*m = out
	return nil
}

// validate checks the rules every message must follow whichever side of the
// wire it is on.
func (m *Message) validate() error {
	switch m.Kind {
	case Gossip:
		if len(m.IDs) != 1 {
			return fmt.Errorf("plumtree: Gossip must carry exactly one id, has %d", len(m.IDs))
		}
	case IHave, Graft, Prune:
		if len(m.IDs) == 0 {
			return fmt.Errorf("plumtree: %s without ids", m.Kind)
		}
		if len(m.Payload) != 0 {
			return fmt.Errorf("plumtree: %s with a payload", m.Kind)
		}
	case Hello:
		if len(m.IDs) != 0 || len(m.Payload) != 0 {
			return errors.New("plumtree: Hello with ids or a payload")
		}
	case Digest:
		if len(m.Ranges) == 0 {
			return errors.New("plumtree: Digest without ranges")
		}
		if len(m.IDs) != 0 || len(m.Payload) != 0 {
			return errors.New("plumtree: Digest with ids or a payload")
		}
		if len(m.Ranges) > MaxRangesPerMessage {
			return fmt.Errorf("plumtree: %d ranges, limit %d", len(m.Ranges), MaxRangesPerMessage)
		}
		for i, r := range m.Ranges {
			if err := checkNodeID(r.Origin, "range origin"); err != nil {
				return err
			}
			if r.Lo > r.Hi {
				return fmt.Errorf("plumtree: empty range %v", r)
			}
			if i > 0 && m.Ranges[i-1].Origin >= r.Origin {
				return fmt.Errorf("plumtree: Digest ranges not sorted by origin at %v", r)
			}
		}
	default:
		return fmt.Errorf("plumtree: unknown kind %d", uint8(m.Kind))
	}
	if m.Kind != Digest && len(m.Ranges) != 0 {
		return fmt.Errorf("plumtree: %s with ranges", m.Kind)
	}
	if m.Arc != (ArcRef{}) && (m.Kind != Gossip || m.Arc.Level == 0) {
		return fmt.Errorf("plumtree: %s with arc %+v", m.Kind, m.Arc)
	}
	if err := checkNodeID(m.From, "sender"); err != nil {
		return err
	}
	if len(m.IDs) > MaxIDsPerMessage {
		return fmt.Errorf("plumtree: %d ids, limit %d", len(m.IDs), MaxIDsPerMessage)
	}
	for _, id := range m.IDs {
		if err := checkNodeID(id.Origin, "origin"); err != nil {
			return err
		}
	}
	if len(m.Payload) > MaxPayloadSize {
		return fmt.Errorf("plumtree: payload of %d bytes, limit %d", len(m.Payload), MaxPayloadSize)
	}
	return nil
}

func checkNodeID(id NodeID, what string) error {
	if id == "" {
		return fmt.Errorf("plumtree: empty %s", what)
	}
	if len(id) > MaxNodeIDLen {
		return fmt.Errorf("plumtree: %s of %d bytes, limit %d", what, len(id), MaxNodeIDLen)
	}
	return nil
}

// decoder reads fields in order and keeps the first error, so the caller
// checks once instead of after every field.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("%s truncated: need %d bytes, have %d", what, n, len(d.b))
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) byte(what string) byte {
	if p := d.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) uint16(what string) uint16 {
	if p := d.take(2, what); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) shortString(what string) string {
	n := int(d.byte(what + " length"))
	return string(d.take(n, what))
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad %s varint", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

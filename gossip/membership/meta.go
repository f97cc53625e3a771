package membership

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// MaxMetaSize is memberlist's limit on a node's metadata: taken from
// memberlist, which drops a larger one.
const MaxMetaSize = memberlist.MetaMaxSize

const metaVersion = 1

// ErrMetaTooLarge is returned when a Meta does not fit in MaxMetaSize bytes.
var ErrMetaTooLarge = fmt.Errorf("membership: metadata exceeds %d bytes", MaxMetaSize)

// Meta is what a herald tells the fleet about itself. It travels in
// memberlist's alive messages, so it is small and changes rarely.
type Meta struct {
	ID         string   // herald id, unique in the fleet (the memberlist node name)
	GRPCAddr   string   // host:port where etcd clients reach this herald
	GossipAddr string   // host:port of this herald's gossip/transport listener
	Roles      []string // e.g. "feeder"
	// Leaving is set by Membership.Close just before it leaves: memberlist
	// reports a graceful leave and a failure through the same callback, and
	// this flag is how peers tell them apart.
	Leaving bool
}

// HasRole reports whether m lists role.
func (m Meta) HasRole(role string) bool {
	for _, r := range m.Roles {
		if r == role {
			return true
		}
	}
	return false
}

const flagLeaving = 1 << 0

// MarshalBinary encodes m as: version byte, flags byte (bit 0: Leaving), then ID, GRPCAddr, GossipAddr
// each as uvarint length + bytes, then uvarint role count and each role as
// uvarint length + bytes.
func (m Meta) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 64)
	var flags byte
	if m.Leaving {
		flags |= flagLeaving
	}
	b = append(b, metaVersion, flags)
	b = appendString(b, m.ID)
	b = appendString(b, m.GRPCAddr)
	b = appendString(b, m.GossipAddr)
	b = binary.AppendUvarint(b, uint64(len(m.Roles)))
	for _, r := range m.Roles {
		b = appendString(b, r)
	}
	if len(b) > MaxMetaSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrMetaTooLarge, len(b))
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeMeta parses bytes produced by Meta.MarshalBinary, as received from
// another member. It rejects unknown versions, truncation, trailing bytes and
// oversized input.
func DecodeMeta(b []byte) (Meta, error) {
	if len(b) > MaxMetaSize {
		return Meta{}, fmt.Errorf("%w: %d bytes", ErrMetaTooLarge, len(b))
	}
	if len(b) == 0 {
		return Meta{}, errors.New("membership: empty metadata")
	}
	if b[0] != metaVersion {
		return Meta{}, fmt.Errorf("membership: metadata version %d not supported", b[0])
	}
	if len(b) < 2 {
		return Meta{}, errors.New("membership: decode metadata: no flags byte")
	}
	if b[1]&^flagLeaving != 0 {
		return Meta{}, fmt.Errorf("membership: decode metadata: unknown flags %#x", b[1])
	}
	d := metaDecoder{b: b[2:]}
	m := Meta{Leaving: b[1]&flagLeaving != 0}
	m.ID = d.string()
	m.GRPCAddr = d.string()
	m.GossipAddr = d.string()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) { // each role takes at least one byte
		d.err = errors.New("role count exceeds input")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		m.Roles = append(m.Roles, d.string())
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return Meta{}, fmt.Errorf("membership: decode metadata: %w", d.err)
	}
	return m, nil
}

type metaDecoder struct {
	b   []byte
	err error
}

func (d *metaDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) {
		d.err = errors.New("bad or non-minimal uvarint") // one encoding per value
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *metaDecoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errors.New("string length exceeds input")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

package lease

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Record is what the proxy persists upstream for each virtual lease, so that
// it (after a restart) or a peer can take the lease over. Expiry is not
// recorded: Restore gives the lease a full TTL (see doc.go).
type Record struct {
	ID    ID
	TTL   int64    // granted TTL, seconds
	Keys  []string // attached keys
	Owner string   // identity of the herald that holds the lease
}

// recordVersion is the first byte of an encoded Record.
const recordVersion = 1

// Encode returns the record's canonical binary form:
//
//	version byte (1) | varint ID | uvarint TTL | uvarint len, Owner |
//	uvarint key count | per key: uvarint len, key
//
// Keys are written sorted and without duplicates, so equal records encode
// to equal bytes and DecodeRecord(b) re-encodes to exactly b.
func (r Record) Encode() []byte {
	keys := slices.Clone(r.Keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	size := 1 + 3*binary.MaxVarintLen64 + len(r.Owner)
	for _, k := range keys {
		size += binary.MaxVarintLen64 + len(k)
	}
	b := make([]byte, 0, size)
	b = append(b, recordVersion)
	b = binary.AppendVarint(b, int64(r.ID))
	b = binary.AppendUvarint(b, uint64(r.TTL))
	b = appendString(b, r.Owner)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeRecord parses an encoded Record. It accepts only the canonical form
// Encode produces (minimal varints, keys non-empty and strictly ascending,
// no trailing bytes), a non-zero ID and a TTL in [1, MaxLeaseTTL]; every
// failure wraps ErrBadRecord. Input comes off the network: lengths are
// checked against the remaining bytes before anything is allocated.
func DecodeRecord(b []byte) (Record, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != recordVersion {
		return Record{}, fmt.Errorf("%w: unknown version %d", ErrBadRecord, v)
	}
	var r Record
	r.ID = ID(d.varint())
	ttl := d.uvarint()
	r.Owner = d.string()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) { // every key takes ≥ 1 byte
		d.fail("key count %d exceeds input", n)
	}
	if d.err == nil && n > 0 {
		r.Keys = make([]string, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		switch {
		case d.err != nil:
		case k == "":
			d.fail("empty key")
		case i > 0 && k <= r.Keys[i-1]:
			d.fail("keys not strictly ascending")
		default:
			r.Keys = append(r.Keys, k)
		}
	}
	switch {
	case d.err != nil:
	case len(d.b) != 0:
		d.fail("%d trailing bytes", len(d.b))
	case r.ID == NoLease:
		d.fail("lease ID 0")
	case ttl < 1 || ttl > MaxLeaseTTL:
		d.fail("TTL %d out of range", ttl)
	}
	if d.err != nil {
		return Record{}, d.err
	}
	r.TTL = int64(ttl)
	return r, nil
}

// decoder reads from b, remembering the first error; after it, reads are
// no-ops returning zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrBadRecord}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		d.fail("non-minimal uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	if n != len(binary.AppendVarint(nil, v)) {
		d.fail("non-minimal varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d exceeds input", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

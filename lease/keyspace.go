package lease

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/heraldproj/herald/fanout"
)

// Keyspace is herald's reserved key range upstream and the layout of the
// records it keeps there (docs/fleet-leases.md):
//
//	<prefix>heralds/<name>                 SessionInfo, on the herald's session lease
//	<prefix>carriers/<carrier, 16 hex>     CarrierRecord, on the carrier itself
//	<prefix>leases/<lease, 16 hex>         Record, on the lease's carrier
//	<prefix>keys/<lease, 16 hex>/<key>     empty, on the lease's carrier
//
// Clients never see the range (reads are split around it, watch events in it
// are dropped) and may not write it.
type Keyspace struct {
	prefix []byte
	end    []byte // first key after the prefix
}

// The record kinds, as the second path element under the prefix.
const (
	sessionsDir = "heralds/"
	carriersDir = "carriers/"
	recordsDir  = "leases/"
	attachDir   = "keys/"
)

// NewKeyspace returns the keyspace under prefix (not empty).
func NewKeyspace(prefix string) Keyspace {
	return Keyspace{prefix: []byte(prefix), end: PrefixEnd([]byte(prefix))}
}

// Prefix is the reserved prefix; End the first key after it.
func (k Keyspace) Prefix() []byte { return k.prefix }
func (k Keyspace) End() []byte    { return k.end }

// Contains reports whether key lies in the reserved range.
func (k Keyspace) Contains(key []byte) bool { return bytes.HasPrefix(key, k.prefix) }

func (k Keyspace) key(dir, rest string) []byte {
	b := make([]byte, 0, len(k.prefix)+len(dir)+len(rest))
	b = append(b, k.prefix...)
	b = append(b, dir...)
	return append(b, rest...)
}

// SessionKey is where herald name keeps its session.
func (k Keyspace) SessionKey(name string) []byte { return k.key(sessionsDir, name) }

// SessionsPrefix is the prefix of every session key.
func (k Keyspace) SessionsPrefix() []byte { return k.key(sessionsDir, "") }

// CarrierKey is carrier c's record.
func (k Keyspace) CarrierKey(c ID) []byte { return k.key(carriersDir, hexID(c)) }

// RecordsPrefix is the prefix of every lease record.
func (k Keyspace) RecordsPrefix() []byte { return k.key(recordsDir, "") }

// RecordKey is virtual lease id's record.
func (k Keyspace) RecordKey(id ID) []byte { return k.key(recordsDir, hexID(id)) }

// AttachPrefix is the prefix of every attachment of lease id.
func (k Keyspace) AttachPrefix(id ID) []byte { return k.key(attachDir, hexID(id)+"/") }

// AttachKey records that key hangs on lease id.
func (k Keyspace) AttachKey(id ID, key []byte) []byte {
	return append(k.AttachPrefix(id), key...)
}

func hexID(id ID) string { return fmt.Sprintf("%016x", uint64(id)) }

// KeyKind says what a reserved key records.
type KeyKind int

// The kinds of reserved keys.
const (
	KindUnknown KeyKind = iota
	KindSession
	KindCarrier
	KindRecord
	KindAttachment
)

// ParsedKey is a reserved key taken apart.
type ParsedKey struct {
	Kind KeyKind
	Name string // KindSession: the herald
	ID   ID     // KindCarrier: the carrier; KindRecord, KindAttachment: the lease
	Key  string // KindAttachment: the client key
}

// Parse takes a reserved key apart. Keys under the prefix that follow no
// known layout (written by another version, or by hand) are KindUnknown, and
// ok is false for keys outside the prefix. Input comes off the network: it
// never panics.
func (k Keyspace) Parse(key []byte) (p ParsedKey, ok bool) {
	rest, ok := bytes.CutPrefix(key, k.prefix)
	if !ok {
		return ParsedKey{}, false
	}
	s := string(rest)
	switch {
	case strings.HasPrefix(s, sessionsDir):
		if name := s[len(sessionsDir):]; name != "" {
			return ParsedKey{Kind: KindSession, Name: name}, true
		}
	case strings.HasPrefix(s, carriersDir):
		if id, ok := parseHexID(s[len(carriersDir):]); ok {
			return ParsedKey{Kind: KindCarrier, ID: id}, true
		}
	case strings.HasPrefix(s, recordsDir):
		if id, ok := parseHexID(s[len(recordsDir):]); ok {
			return ParsedKey{Kind: KindRecord, ID: id}, true
		}
	case strings.HasPrefix(s, attachDir):
		idHex, userKey, found := strings.Cut(s[len(attachDir):], "/")
		if id, ok := parseHexID(idHex); ok && found && userKey != "" {
			return ParsedKey{Kind: KindAttachment, ID: id, Key: userKey}, true
		}
	}
	return ParsedKey{Kind: KindUnknown}, true
}

// parseHexID reads exactly 16 lower-case hex digits.
func parseHexID(s string) (ID, bool) {
	if len(s) != 16 || strings.ToLower(s) != s {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return ID(v), err == nil
}

// PrefixEnd is the range end that covers every key with prefix
// (fanout.PrefixEnd, as clientv3.GetPrefixRangeEnd computes it).
func PrefixEnd(prefix []byte) []byte { return fanout.PrefixEnd(prefix) }

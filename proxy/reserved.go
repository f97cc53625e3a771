package proxy

import (
	"bytes"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/fanout"
)

// reserved is herald's own key range upstream: lease records and carrier
// keys live under it. Clients never see it (ranges are split around it,
// watch events in it are dropped) and may not write it.
type reserved struct {
	prefix []byte
	end    []byte // first key after the prefix
}

func newReserved(prefix string) reserved {
	return reserved{prefix: []byte(prefix), end: prefixEnd([]byte(prefix))}
}

// prefixEnd is the range end that covers every key with the prefix.
func prefixEnd(prefix []byte) []byte { return fanout.PrefixEnd(prefix) }

// contains reports whether key lies in the reserved range.
func (r reserved) contains(key []byte) bool {
	return bytes.HasPrefix(key, r.prefix)
}

// span is a key range in etcd's terms: end nil is the single key, end
// "\x00" is every key from key on.
type span struct{ key, end []byte }

func (s span) single() bool { return len(s.end) == 0 }
func (s span) toEnd() bool  { return len(s.end) == 1 && s.end[0] == 0 }
func (s span) empty() bool  { return !s.single() && !s.toEnd() && bytes.Compare(s.key, s.end) >= 0 }
func (s span) below(k []byte) bool { // every key of s is < k
	if s.single() {
		return bytes.Compare(s.key, k) < 0
	}
	return !s.toEnd() && bytes.Compare(s.end, k) <= 0
}

// overlaps reports whether any key of s is reserved.
func (r reserved) overlaps(s span) bool {
	if s.single() {
		return r.contains(s.key)
	}
	if s.empty() || s.below(r.prefix) {
		return false
	}
	// s reaches the prefix; it overlaps unless it starts at or after its end.
	return bytes.Compare(s.key, r.end) < 0 || (r.end[0] == 0 && len(r.end) == 1)
}

// around splits s into the parts that are not reserved, in key order: none,
// one or two spans. Only for a span that overlaps.
func (r reserved) around(s span) []span {
	if s.single() {
		return nil
	}
	var parts []span
	if bytes.Compare(s.key, r.prefix) < 0 {
		parts = append(parts, span{key: s.key, end: r.prefix})
	}
	endless := len(r.end) == 1 && r.end[0] == 0
	if !endless && (s.toEnd() || bytes.Compare(s.end, r.end) > 0) {
		start := s.key
		if bytes.Compare(start, r.end) < 0 {
			start = r.end
		}
		parts = append(parts, span{key: start, end: s.end})
	}
	return parts
}

// errReserved is the answer to a client write under the reserved prefix.
func (r reserved) errReserved() error {
	return status.Error(codes.PermissionDenied, fmt.Sprintf("herald: keys under %q are reserved for herald's lease records", r.prefix))
}

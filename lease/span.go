package lease

import "bytes"

// Span is a key range in etcd's terms: End nil is the single key Key, End
// "\x00" is every key from Key on, otherwise [Key, End).
type Span struct{ Key, End []byte }

// Single reports whether s is one key.
func (s Span) Single() bool { return len(s.End) == 0 }

// ToEnd reports whether s runs to the end of the keyspace.
func (s Span) ToEnd() bool { return len(s.End) == 1 && s.End[0] == 0 }

// Empty reports whether s holds no key (an inverted range).
func (s Span) Empty() bool {
	return !s.Single() && !s.ToEnd() && bytes.Compare(s.Key, s.End) >= 0
}

// below reports whether every key of s is < k.
func (s Span) below(k []byte) bool {
	if s.Single() {
		return bytes.Compare(s.Key, k) < 0
	}
	return !s.ToEnd() && bytes.Compare(s.End, k) <= 0
}

// Overlaps reports whether any key of s is reserved.
func (k Keyspace) Overlaps(s Span) bool {
	if s.Single() {
		return k.Contains(s.Key)
	}
	if s.Empty() || s.below(k.prefix) {
		return false
	}
	// s reaches the prefix; it overlaps unless it starts at or after its end.
	return bytes.Compare(s.Key, k.end) < 0 || (k.end[0] == 0 && len(k.end) == 1)
}

// Around splits s into the parts that are not reserved, in key order: none,
// one or two spans. Only for a span that overlaps.
func (k Keyspace) Around(s Span) []Span {
	if s.Single() {
		return nil
	}
	var parts []Span
	// Below a prefix of "\x00" lies only the empty key, which etcd does not
	// allow (and an End of "\x00" would mean the whole keyspace).
	below := !(len(k.prefix) == 1 && k.prefix[0] == 0)
	if below && bytes.Compare(s.Key, k.prefix) < 0 {
		parts = append(parts, Span{Key: s.Key, End: k.prefix})
	}
	endless := len(k.end) == 1 && k.end[0] == 0
	if !endless && (s.ToEnd() || bytes.Compare(s.End, k.end) > 0) {
		start := s.Key
		if bytes.Compare(start, k.end) < 0 {
			start = k.end
		}
		parts = append(parts, Span{Key: start, End: s.End})
	}
	return parts
}

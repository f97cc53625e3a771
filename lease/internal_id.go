package lease

// Carriers and sessions are real etcd leases that herald grants with IDs of
// its choosing, all under one 15-bit prefix, the internal prefix, that no
// etcd member's ID has and no virtual lease uses. Whether a lease ID can be
// a carrier is then known from the ID alone: a key whose lease is not
// internal needs no lookup, and only keys on internal leases wait for the
// lease index (docs/fleet-leases.md, "Internal lease IDs").

// topPrefix is where the search for the internal prefix starts: far from
// prefix 0 (small client-chosen IDs) and from the hashed virtual prefixes'
// usual start.
const topPrefix = prefixMask

// InternalPrefix returns the internal prefix for an etcd cluster with these
// member IDs: the highest 15-bit prefix that no member's ID has. Every
// herald in front of the cluster computes the same.
func InternalPrefix(memberIDs []uint64) uint16 {
	taken := make(map[uint16]bool, len(memberIDs))
	for _, m := range memberIDs {
		taken[MemberPrefix(m)] = true
	}
	p := uint16(topPrefix)
	for taken[p] && p > 1 {
		p--
	}
	return p
}

// InternalID is the ID with the internal prefix and the given suffix (its
// low 48 bits are used; a suffix of 0 is made 1 so the ID is never a
// prefix's zero).
func InternalID(prefix uint16, suffix uint64) ID {
	s := suffix & suffixMask
	if s == 0 {
		s = 1
	}
	return ID(uint64(prefix&prefixMask)<<suffixBits | s)
}

// IsInternal reports whether id carries the internal prefix (never for
// prefix 0, which InternalPrefix does not return: an unset prefix).
func IsInternal(id ID, prefix uint16) bool {
	return prefix&prefixMask != 0 && id > 0 && Prefix(id) == prefix&prefixMask
}

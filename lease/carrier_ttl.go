package lease

// CarrierTTLFor is the TTL of the carriers that leases of TTL ttl hang on:
// the smallest base × 4^k at or above ttl (at most MaxLeaseTTL). A carrier
// must live at least as long as any lease on it: when no herald keeps a
// carrier alive (the whole fleet is down), etcd expires it and deletes its
// keys, and that must never happen before the leases' own TTL has passed
// since their last keepalive. The classes keep the number of carriers small
// (a few per herald) and the over-retention after the fleet's death within
// four TTLs.
func CarrierTTLFor(ttl, base int64) int64 {
	if base <= 0 {
		base = 1
	}
	c := base
	for c < ttl && c < MaxLeaseTTL/4 {
		c *= 4
	}
	if c < ttl {
		return MaxLeaseTTL
	}
	return min(c, MaxLeaseTTL)
}

// GrantedTTL is the TTL a grant of ttl seconds gets (raised to the
// minimum), or ErrLeaseTTLTooLarge, as Grant would decide.
func (t *Table) GrantedTTL(ttl int64) (int64, error) { return t.checkTTL(ttl) }

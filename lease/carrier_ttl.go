package lease

// CarrierTTLFor is the TTL of the carriers that leases of TTL ttl hang on:
// the smallest base × 2^k at or above 1.5 × ttl (at most MaxLeaseTTL).
//
// A carrier must outlive its leases: when no herald keeps a carrier alive
// (its herald died and no successor took over, or the whole fleet is
// down), etcd expires it and deletes its keys, and that must never happen
// before a lease's client could have noticed that its own keepalives stop
// being answered (TTL after the last answer). Carriers are renewed every
// sixth of their TTL (CarrierRenewPeriod), so a dead herald's carrier lives
// at least 5/6 of its TTL after the herald's last answer to a client:
// 1.5 × TTL leaves a quarter of the lease's TTL to spare. The classes keep
// the number of carriers small (a few per herald) and the over-retention
// after the fleet's death within three TTLs.
func CarrierTTLFor(ttl, base int64) int64 {
	if base <= 0 {
		base = 1
	}
	need := ttl + (ttl+1)/2 // ⌈1.5 × ttl⌉
	c := base
	for c < need && c < MaxLeaseTTL/2 {
		c *= 2
	}
	if c < need {
		return MaxLeaseTTL
	}
	return min(c, MaxLeaseTTL)
}

// CarrierRenewPeriod is how often a carrier of TTL ttl seconds is kept
// alive, in seconds (a sixth of it, at least one).
func CarrierRenewPeriod(ttl int64) float64 { return max(float64(ttl)/6, 1) }

// GrantedTTL is the TTL a grant of ttl seconds gets (raised to the
// minimum), or ErrLeaseTTLTooLarge, as Grant would decide.
func (t *Table) GrantedTTL(ttl int64) (int64, error) { return t.checkTTL(ttl) }

package lease

import (
	"slices"
	"time"
)

// ID is a lease ID as etcd's API carries it (int64; etcd's lease.LeaseID).
// NoLease (0) means "no lease" on a Put, and "choose one for me" on a Grant.
type ID int64

// NoLease is etcd's lease.NoLease.
const NoLease ID = 0

// Layout of an ID, copied from etcd's idutil.Generator masked with
// (1<<63 - 1) in EtcdServer.LeaseGrant: bit 63 is zero, bits 48..62 hold the
// low 15 bits of the granting member's ID, bits 0..47 a time-seeded counter
// (40 bits of Unix milliseconds, then 8 bits of count).
const (
	suffixBits  = 48
	prefixBits  = 15
	prefixCount = 1 << prefixBits
	prefixMask  = prefixCount - 1
	suffixMask  = 1<<suffixBits - 1
	countBits   = 8
)

// Prefix returns the 15-bit prefix of id (bits 48..62).
func Prefix(id ID) uint16 { return uint16(uint64(id)>>suffixBits) & prefixMask }

// MemberPrefix is the prefix every lease granted by etcd member memberID
// carries.
func MemberPrefix(memberID uint64) uint16 { return uint16(memberID) & prefixMask }

// IDSource hands out lease IDs for grants that do not name one. Next must
// never return NoLease. It must not block.
type IDSource interface {
	Next() ID
}

// IDConfig says which prefixes an IDAllocator must avoid and how it picks its own.
type IDConfig struct {
	// MemberIDs are the current upstream etcd member IDs. Their prefixes are
	// never used.
	MemberIDs []uint64
	// AvoidPrefixes are prefixes seen in use elsewhere (peer heralds' prefixes
	// from gossip metadata, prefixes of leases listed upstream). They are
	// never used either.
	AvoidPrefixes []uint16
	// Identity selects among the free prefixes, e.g. a hash of the herald's
	// name, so that a restarted herald usually gets its old prefix back and
	// peers usually get different ones.
	Identity uint64
}

// IDAllocator generates virtual lease IDs: a fixed prefix no upstream member
// uses, and a 48-bit counter seeded from the wall clock like etcd's
// idutil.Generator. It is not safe for concurrent use.
type IDAllocator struct {
	prefix uint64 // already shifted into bits 48..62
	suffix uint64
}

// NewIDAllocator picks the prefix and seeds the counter from now (wall
// clock: a restart later than the previous process's last draw, at 256
// draws per millisecond, never reuses an ID). Prefix 0 is never chosen: it is
// where small client-chosen IDs live.
func NewIDAllocator(cfg IDConfig, now time.Time) (*IDAllocator, error) {
	taken := make([]bool, prefixCount)
	taken[0] = true
	for _, m := range cfg.MemberIDs {
		taken[MemberPrefix(m)] = true
	}
	for _, p := range cfg.AvoidPrefixes {
		taken[p&prefixMask] = true
	}
	taken[InternalPrefix(cfg.MemberIDs)] = true // carriers and sessions live there
	start := int(mix64(cfg.Identity) & prefixMask)
	for i := range prefixCount {
		p := (start + i) & prefixMask
		if !taken[p] {
			millis := uint64(now.UnixMilli())
			return &IDAllocator{
				prefix: uint64(p) << suffixBits,
				suffix: (millis << countBits) & suffixMask,
			}, nil
		}
	}
	return nil, ErrNoFreePrefix
}

// Prefix returns the allocator's 15-bit prefix (to announce to peers).
func (a *IDAllocator) Prefix() uint16 { return uint16(a.prefix >> suffixBits) }

// Next returns a new ID. It never repeats within 2^48 draws and is never
// NoLease (the prefix is never 0).
func (a *IDAllocator) Next() ID {
	a.suffix = (a.suffix + 1) & suffixMask
	return ID(a.prefix | a.suffix)
}

// mix64 is SplitMix64's finaliser: spreads similar identities (host-1,
// host-2) over the prefix space.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// sortIDs sorts ids ascending, for deterministic output.
func sortIDs(ids []ID) { slices.Sort(ids) }

package fanout

import (
	"cmp"
	"hash/fnv"
	"slices"
)

// Feeders are chosen deterministically from membership by rendezvous
// hashing: every herald ranks the live heralds by hash(topic, name) and the
// first n of them hold the upstream watch. No election round-trips to
// etcd, and a feeder's death moves the role as soon as membership notices
// it. Two heralds that briefly both think they feed (during a membership
// change) only send the same events twice, which the chained, idempotent
// sink absorbs. The topic salts the hash so that the feeders of different
// feeds are different heralds, as far as the fleet allows. Every herald of
// a fleet must rank alike: the ranking is part of the protocol.

// Feeders returns the first n of members by their rank for topic, best
// first (all of them when n exceeds their number).
func Feeders(topic string, members []string, n int) []string {
	ranked := slices.Clone(members)
	slices.SortFunc(ranked, func(a, b string) int {
		return cmp.Or(cmp.Compare(feederRank(topic, b), feederRank(topic, a)), cmp.Compare(a, b))
	})
	return ranked[:max(0, min(n, len(ranked)))]
}

// IsFeeder reports whether self ranks among the first n of members (self
// counts as a member, listed or not).
func IsFeeder(topic, self string, members []string, n int) bool {
	if !slices.Contains(members, self) {
		members = append(slices.Clip(members), self)
	}
	return slices.Contains(Feeders(topic, members, n), self)
}

// feederRank is a herald's rank for a topic. FNV-1a alone orders names
// that share a prefix by their last bytes, whatever comes before them (the
// topic): the finalizer of MurmurHash3 (a bijection) mixes every bit, so
// each topic ranks the fleet its own way.
func feederRank(topic, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("herald-feeder/" + topic + "/" + name))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

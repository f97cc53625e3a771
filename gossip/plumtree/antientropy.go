package plumtree

import (
	"cmp"
	"slices"
	"time"
)

// Anti-entropy closes the two holes that eager copies, announcements and
// sequence gaps leave: nothing reveals the loss of an origin's last message
// once its copies and its announcement are all lost, and a member whose
// first message from an origin is not the origin's first cannot tell which
// earlier ones it missed. In rounds at most AntiEntropyInterval apart, a
// member sends one peer a Digest: for each origin delivered here within
// its last AntiEntropyRounds rounds, the range [lo, hi] of sequence numbers
// it can serve from its cache. The receiver grafts every message of those
// ranges that it has not seen — gaps, the tail after its own highest, the
// messages before its first contact, or a whole origin it never heard from.
//
// The peer of a member's r-th round is at offset d(r mod R) from it in the
// sorted view (R = AntiEntropyRounds; overlay.go picks the R offsets, the
// same for every member, apart from the lazy peers' offsets). Every member is therefore the d(k)-peer of exactly one member
// for each k, and R consecutive rounds of a member cover every k once: a
// member that lacks a message is sent a digest naming it by each of its R
// in-neighbours, whether or not their rounds are in step.

// maxDigestRanges bounds the origins of one digest; the most recently
// active go first.
const maxDigestRanges = 512

// armAntiEntropy notes a delivery of origin w. Rounds matter most after a
// burst (during one, gaps reveal most losses), so a delivery postpones the
// next round to one interval from now — but never beyond R intervals after
// the previous round, so a stream that never pauses still gets a round
// every R intervals (for first contacts).
func (n *Node) armAntiEntropy(w *originWindow) {
	if n.cfg.AntiEntropyRounds == 0 {
		return
	}
	w.aeLeft = n.cfg.AntiEntropyRounds
	if !n.aeArmed {
		n.aeArmed, n.aeSince = true, n.now
	}
	n.aeAt = min(n.now+n.cfg.AntiEntropyInterval, n.aeSince+time.Duration(n.cfg.AntiEntropyRounds)*n.cfg.AntiEntropyInterval)
}

// antiEntropyDue sends this round's digest; the rounds stop when no origin
// has rounds left.
func (n *Node) antiEntropyDue() {
	if !n.aeArmed || n.now < n.aeAt {
		return
	}
	n.aeSince, n.aeAt = n.now, n.now+n.cfg.AntiEntropyInterval
	ranges, more := n.digest(true, false)
	n.aeArmed = more
	if len(ranges) == 0 || n.self < 0 || len(n.ov.digest) == 0 {
		return
	}
	to := n.view.Member(n.ov.digestPeer(n.self, n.aeRound))
	n.aeRound++
	n.msgs = append(n.msgs, Envelope{To: to, Msg: Message{Kind: Digest, From: n.cfg.ID, Ranges: ranges}, Piggyback: n.cfg.PiggybackWait > 0})
}

// digest lists, sorted by origin, the servable ranges of the origins with
// rounds left (every origin with something servable if quiet too), and, if
// round, counts this round against them. more reports whether some origin
// has rounds left after this one.
func (n *Node) digest(round, quiet bool) (ranges []SeqRange, more bool) {
	type entry struct {
		r        SeqRange
		w        *originWindow
		lastUsed uint64
	}
	var active []entry
	for o, w := range n.seen.origins {
		if w.aeLeft == 0 && !quiet {
			continue
		}
		lo := max(w.lo, w.evictedHi+1)
		if w.hi >= n.seen.window {
			lo = max(lo, w.hi-n.seen.window+1)
		}
		if lo > w.hi {
			w.aeLeft = 0 // nothing left in the cache to serve
			continue
		}
		active = append(active, entry{SeqRange{o, lo, w.hi}, w, w.lastUsed})
	}
	if len(active) > maxDigestRanges {
		// The rest keep their rounds for the next digests.
		slices.SortFunc(active, func(a, b entry) int {
			return cmp.Or(cmp.Compare(b.lastUsed, a.lastUsed), cmp.Compare(a.r.Origin, b.r.Origin))
		})
		active, more = active[:maxDigestRanges], true
	}
	ranges = make([]SeqRange, len(active))
	for i, e := range active {
		ranges[i] = e.r
		if round {
			e.w.aeLeft--
		}
		more = more || e.w.aeLeft > 0
	}
	slices.SortFunc(ranges, func(a, b SeqRange) int { return cmp.Compare(a.Origin, b.Origin) })
	return ranges, more
}

// stepDigest marks as missing every message of the digest's ranges that
// this member has not seen, with the digest's sender as the source; like an
// announced message, each is grafted after GraftTimeout unless its eager
// copy arrives first. Only the last SeenWindow numbers of a range are
// considered (older ones would be dropped as seen anyway), and at most four
// windows' worth over the whole digest: an honest digest spans little more
// than the sender's cache, and a corrupt one must not cost much.
func (n *Node) stepDigest(m Message) {
	budget := 4 * n.seen.window
	for _, r := range m.Ranges {
		lo := r.Lo
		if r.Hi >= n.seen.window {
			lo = max(lo, r.Hi-n.seen.window+1)
		}
		for seq := lo; seq <= r.Hi; seq++ {
			if budget == 0 || len(n.missing.entries) >= n.cfg.MaxMissing {
				return
			}
			budget--
			if id := (MessageID{r.Origin, seq}); !n.seen.has(id) {
				n.missing.add(id, m.From, n.now+n.cfg.GraftTimeout, n.cfg.MaxMissing)
			}
			if seq == r.Hi {
				break // r.Hi may be the largest uint64
			}
		}
	}
}

// welcome sends a member that has just introduced itself (Hello) a digest
// of what it can serve of every origin, outside the rounds: a broadcast
// that passed before its parents knew of it is then grafted at once, even
// when the Hello came after the broadcast's digest rounds (its connection's
// SYN was lost: a second late). One message per join.
func (n *Node) welcome(to NodeID) {
	if ranges, _ := n.digest(false, true); len(ranges) > 0 {
		n.msgs = append(n.msgs, Envelope{To: to, Msg: Message{Kind: Digest, From: n.cfg.ID, Ranges: ranges}})
	}
}

// noteEviction records that a payload left the cache, so that digests stop
// offering it.
func (n *Node) noteEviction(id MessageID) {
	if w := n.seen.origins[id.Origin]; w != nil {
		w.evictedHi = max(w.evictedHi, id.Seq)
	}
}

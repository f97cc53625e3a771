package plumtree

// seenSet suppresses duplicates in bounded memory: per origin, a bitmap of
// the last window sequence numbers below the highest one seen, and at most
// capacity origins. Sequence numbers of an origin are dense and increasing,
// so a window replaces an unbounded set of IDs.
type seenSet struct {
	window   uint64 // multiple of 64
	capacity int
	clock    uint64 // counts updates, to find the least recently active origin
	origins  map[NodeID]*originWindow
}

type originWindow struct {
	hi       uint64   // highest sequence number seen; 0 before the first
	bits     []uint64 // bit (seq % window) set ⇔ seq seen, for seq in (hi−window, hi]
	lastUsed uint64

	// Anti-entropy: lo is the lowest sequence number seen; evictedHi the
	// highest one whose payload left the cache, so that every seen
	// message in [max(lo, evictedHi+1), hi] can still be served; aeLeft
	// the digest rounds this origin is still named in (AntiEntropyRounds
	// after its last delivery here).
	lo, evictedHi uint64
	aeLeft        int

	// Links of this origin's trees that differ from the computed ones:
	// members that grafted from this node (pushed to eagerly) and members
	// that pruned it (not pushed to). Kept here so they are bounded and
	// forgotten together with the origin.
	grafted, pruned []NodeID
}

func newSeenSet(window, capacity int) seenSet {
	return seenSet{window: uint64((window + 63) / 64 * 64), capacity: capacity}
}

// has reports whether id was seen, or is too old to tell (treated as seen:
// delivering it again could break exactly-once).
func (s *seenSet) has(id MessageID) bool {
	w := s.origins[id.Origin]
	if w == nil {
		return false
	}
	switch {
	case id.Seq > w.hi:
		return false
	case w.hi-id.Seq >= s.window:
		return true
	}
	i := id.Seq % s.window
	return w.bits[i/64]&(1<<(i%64)) != 0
}

// add records id and returns the sequence numbers between the previous
// highest and id.Seq that have not been seen (at most the window, in
// increasing order): these were lost or are still in flight.
func (s *seenSet) add(id MessageID) (gapFrom, gapTo uint64) {
	if s.origins == nil {
		s.origins = make(map[NodeID]*originWindow)
	}
	s.clock++
	w := s.origins[id.Origin]
	if w == nil {
		if len(s.origins) >= s.capacity {
			s.evictOldest()
		}
		w = &originWindow{bits: make([]uint64, s.window/64)}
		s.origins[id.Origin] = w
		w.hi, w.lo = id.Seq, id.Seq
		w.set(id.Seq, s.window)
		w.lastUsed = s.clock
		return 0, 0
	}
	w.lastUsed = s.clock
	w.lo = min(w.lo, id.Seq)
	if id.Seq > w.hi {
		if id.Seq-w.hi >= s.window {
			clear(w.bits)
		} else {
			for q := w.hi + 1; q < id.Seq; q++ {
				w.clear(q, s.window)
			}
		}
		if id.Seq-w.hi > 1 {
			gapFrom, gapTo = max(w.hi+1, id.Seq-min(id.Seq, s.window-1)), id.Seq-1
		}
		w.hi = id.Seq
	}
	w.set(id.Seq, s.window)
	return gapFrom, gapTo
}

func (w *originWindow) set(seq, window uint64) {
	i := seq % window
	w.bits[i/64] |= 1 << (i % 64)
}

func (w *originWindow) clear(seq, window uint64) {
	i := seq % window
	w.bits[i/64] &^= 1 << (i % 64)
}

// evictOldest forgets the least recently active origin. The scan is linear,
// but it runs only when a new origin appears with the set full.
func (s *seenSet) evictOldest() {
	var oldest NodeID
	var at uint64
	first := true
	for o, w := range s.origins {
		if first || w.lastUsed < at || (w.lastUsed == at && o < oldest) {
			oldest, at, first = o, w.lastUsed, false
		}
	}
	delete(s.origins, oldest)
}

package fanout

// Chain puts the batches of one feeder chain back in order: whoever keeps a
// replica of an etcd key range from chained Batches (the event Cache, the
// fleet's lease index) gives it every batch as it arrives, in any order and
// any number of times, and applies what it hands back. Not safe for
// concurrent use: the consumer serializes calls, as it does for its replica.
type Chain struct {
	maxHeld int

	loaded bool
	rev    int64   // complete through rev
	held   []Batch // sorted by PrevRev, then Rev; all PrevRev > rev
	seen   int64   // highest batch Rev offered, held or not
	gaps   uint64  // batches that arrived beyond a gap
}

// NewChain returns a chain that holds at most maxHeld batches behind a gap
// (at least one). It applies nothing until Reset.
func NewChain(maxHeld int) *Chain {
	return &Chain{maxHeld: max(maxHeld, 1)}
}

// Rev is the revision through which the chain is complete (0 before Reset).
func (c *Chain) Rev() int64 { return c.rev }

// Loaded reports whether Reset was called.
func (c *Chain) Loaded() bool { return c.loaded }

// Held is the number of batches waiting behind a gap.
func (c *Chain) Held() int { return len(c.held) }

// Gaps counts the batches that arrived beyond a gap since the first Reset.
func (c *Chain) Gaps() uint64 { return c.gaps }

// Reset restarts the chain at rev, the revision of a snapshot the consumer
// has just installed, and returns the held batches that now apply, as
// Offer does. Held batches are kept: those that the snapshot already
// covers are dropped as they come up.
func (c *Chain) Reset(rev int64) []Batch {
	c.loaded = true
	c.rev = rev
	return c.drain(nil)
}

// Offer takes one batch of the chain and returns the batches that now
// apply, in order: the first has PrevRev == Rev() before the call, each
// next one chains on the one before (PrevRev == the previous Rev), and
// events the chain already had (ModRevision <= PrevRev) are trimmed off, so
// the consumer applies every event of every batch returned, once. Rev() is
// then the last one's Rev.
//
// A batch already covered returns nothing, and so does a heartbeat, which
// only opens a Gap when the chain is behind it. A batch beyond a gap, or offered
// before Reset, is held until the gap is filled; when MaxHeld batches are
// held, the one farthest ahead gives way (a repair brings it again). The
// returned batches share their events with the offered ones. Offer fails on
// a batch that breaks the chaining invariants (Batch.Validate) and then
// changes nothing.
func (c *Chain) Offer(b Batch) ([]Batch, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	c.seen = max(c.seen, b.Rev)
	if b.Heartbeat() {
		return nil, nil // nothing to apply; seen tells Gap what is missing
	}
	if c.loaded && b.Rev <= c.rev {
		return nil, nil
	}
	if !c.loaded || b.PrevRev > c.rev {
		if c.loaded {
			c.gaps++
		}
		c.hold(b)
		return nil, nil
	}
	return c.drain([]Batch{c.advance(b)}), nil
}

// Gap returns the missing revisions that hold back held batches (or, when
// the held buffer overflowed, that batches were seen up to), or nil; nil
// too before Reset.
func (c *Chain) Gap() *Gap {
	switch {
	case !c.loaded:
		return nil
	case len(c.held) > 0:
		return &Gap{From: c.rev + 1, To: c.held[0].PrevRev}
	case c.seen > c.rev:
		return &Gap{From: c.rev + 1, To: c.seen}
	}
	return nil
}

// advance trims b to what follows Rev() and moves Rev() to its end. b must
// chain: PrevRev <= Rev() < b.Rev.
func (c *Chain) advance(b Batch) Batch {
	i := 0
	for i < len(b.Events) && b.Events[i].Kv.ModRevision <= c.rev {
		i++ // events are in revision order (Validate)
	}
	b.Events = b.Events[i:]
	b.PrevRev = c.rev
	c.rev = b.Rev
	return b
}

func (c *Chain) hold(b Batch) {
	i := 0
	for i < len(c.held) && (c.held[i].PrevRev < b.PrevRev || (c.held[i].PrevRev == b.PrevRev && c.held[i].Rev < b.Rev)) {
		i++
	}
	if i < len(c.held) && c.held[i].PrevRev == b.PrevRev && c.held[i].Rev == b.Rev {
		return // re-delivery
	}
	if len(c.held) >= c.maxHeld {
		if i >= len(c.held) {
			return // farthest ahead: the repair brings it again
		}
		c.held = c.held[:len(c.held)-1]
	}
	c.held = append(c.held, Batch{})
	copy(c.held[i+1:], c.held[i:])
	c.held[i] = b
}

// drain appends to ready the held batches that chain on Rev(), in order.
func (c *Chain) drain(ready []Batch) []Batch {
	for len(c.held) > 0 {
		b := c.held[0]
		if b.PrevRev > c.rev {
			break
		}
		c.held = c.held[1:]
		if b.Rev > c.rev {
			ready = append(ready, c.advance(b))
		}
	}
	if len(c.held) == 0 {
		c.held = nil // let the backing array go
	}
	return ready
}

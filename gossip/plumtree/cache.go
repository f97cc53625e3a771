package plumtree

// payloadCache keeps the most recent payloads so that a member can answer a
// Graft. It is a ring: memory is bounded by its size times the payload size,
// and a graft for an older message goes unanswered (the grafter then asks
// another announcer).
type payloadCache struct {
	entries []cached
	next    int
	index   map[MessageID]int
}

type cached struct {
	id      MessageID
	payload []byte
	hops    int
	from    NodeID // who sent the first copy, "" at the origin
	// copies counts the copies received, duplicates included.
	copies int
	// prunedFrom records that from was pruned for this message already.
	prunedFrom bool
	// covered lists the arcs of the ring layout this member has sent the
	// message for, so that a later copy naming one does not resend it.
	covered []ArcRef
}

// put caches a payload and returns the ID it evicted to make room, if any.
func (c *payloadCache) put(size int, id MessageID, payload []byte, hops int, from NodeID) (evicted MessageID, ok bool) {
	if c.entries == nil {
		c.entries = make([]cached, 0, min(size, 16))
		c.index = make(map[MessageID]int)
	}
	if len(c.entries) < size {
		c.index[id] = len(c.entries)
		c.entries = append(c.entries, cached{id: id, payload: payload, hops: hops, from: from, copies: 1})
		return MessageID{}, false
	}
	old := &c.entries[c.next]
	evicted = old.id
	delete(c.index, old.id)
	*old = cached{id: id, payload: payload, hops: hops, from: from, copies: 1}
	c.index[id] = c.next
	c.next = (c.next + 1) % size
	return evicted, true
}

// get returns the cached entry for id, or nil. The pointer is valid until
// the next put.
func (c *payloadCache) get(id MessageID) *cached {
	i, ok := c.index[id]
	if !ok {
		return nil
	}
	return &c.entries[i]
}

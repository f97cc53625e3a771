package plumtree

import (
	"slices"
	"time"
)

// missingSet holds messages known to exist (announced, or a gap in an
// origin's sequence) but not received, each with the members that have it
// and a deadline for the next graft. It is a slice so that timers fire in
// a deterministic order; the map only finds entries.
type missingSet struct {
	entries []missingEntry
	index   map[MessageID]int
}

type missingEntry struct {
	id       MessageID
	sources  []NodeID // announcers, first first; at most maxSources
	deadline time.Duration
	attempts int
}

const maxSources = 4

func (s *missingSet) add(id MessageID, source NodeID, deadline time.Duration, capacity int) {
	if i, ok := s.index[id]; ok {
		e := &s.entries[i]
		if len(e.sources) < maxSources && !slices.Contains(e.sources, source) {
			e.sources = append(e.sources, source)
		}
		return
	}
	if len(s.entries) >= capacity {
		return // the message stays missing; later announcements retry it
	}
	if s.index == nil {
		s.index = make(map[MessageID]int)
	}
	s.index[id] = len(s.entries)
	s.entries = append(s.entries, missingEntry{id: id, sources: []NodeID{source}, deadline: deadline})
}

func (s *missingSet) remove(id MessageID) {
	i, ok := s.index[id]
	if !ok {
		return
	}
	delete(s.index, id)
	last := len(s.entries) - 1
	if i != last {
		s.entries[i] = s.entries[last]
		s.index[s.entries[i].id] = i
	}
	s.entries = s.entries[:last]
}

func (s *missingSet) forgetSource(id NodeID) {
	for i := 0; i < len(s.entries); {
		e := &s.entries[i]
		e.sources = deleteID(e.sources, id)
		if len(e.sources) == 0 {
			s.remove(e.id)
			continue
		}
		i++
	}
}

// Tick advances the node's clock to now (time since an arbitrary start,
// never decreasing) and fires what is due: the batched IHave to the lazy
// peers, grafts for messages still missing and the anti-entropy digest.
func (n *Node) Tick(now time.Duration) {
	if now < n.now {
		return
	}
	n.now = now
	if len(n.pending) > 0 && now >= n.flushAt {
		n.flushIHave()
	}
	n.graftDue()
	n.antiEntropyDue()
}

// NextDeadline returns when Tick next has work to do, so that a driver need
// not tick idle nodes: the simulator jumps its virtual clock there, the
// gossip driver sets a timer. It reports false when nothing is armed (the
// node is quiet until the next Step or Broadcast).
func (n *Node) NextDeadline() (time.Duration, bool) {
	at, ok := time.Duration(0), false
	if len(n.pending) > 0 {
		at, ok = n.flushAt, true
	}
	for _, e := range n.missing.entries {
		if !ok || e.deadline < at {
			at, ok = e.deadline, true
		}
	}
	if n.aeArmed && (!ok || n.aeAt < at) {
		at, ok = n.aeAt, true
	}
	return at, ok
}

func (n *Node) flushIHave() {
	ids := n.pending
	n.pending = nil
	if n.self < 0 {
		return
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), MaxIDsPerMessage)]
		ids = ids[len(batch):]
		msg := Message{Kind: IHave, From: n.cfg.ID, IDs: batch}
		n.ov.lazyPeers(n.self, func(i int) {
			n.msgs = append(n.msgs, Envelope{To: n.view.Member(i), Msg: msg, Piggyback: n.cfg.PiggybackWait > 0})
		})
	}
}

// graftDue sends one Graft per source for the due missing messages. The
// first attempt goes to the first announcer (usually the fastest); retries
// pick a random announcer, so one that lost the payload is not asked
// forever, and come GraftTimeout × 1, 2, 4, … 64 apart.
func (n *Node) graftDue() {
	var grafts []Envelope
	for i := 0; i < len(n.missing.entries); {
		e := &n.missing.entries[i]
		if e.deadline > n.now {
			i++
			continue
		}
		if e.attempts >= n.cfg.MaxGraftAttempts {
			n.missing.remove(e.id)
			continue
		}
		src := e.sources[0]
		if e.attempts > 0 {
			src = e.sources[n.cfg.Rand.IntN(len(e.sources))]
		}
		e.attempts++
		// Retries back off (×2 each, up to ×64): a source that is slow —
		// a loaded host, a lost answer, a source still repairing the
		// message itself — must not use up every attempt in a few
		// GraftTimeouts, which left a member missing a message for good.
		e.deadline = n.now + n.cfg.GraftTimeout<<min(e.attempts-1, 6)
		j := slices.IndexFunc(grafts, func(g Envelope) bool { return g.To == src })
		if j < 0 || len(grafts[j].Msg.IDs) >= MaxIDsPerMessage {
			grafts = append(grafts, Envelope{To: src, Msg: Message{Kind: Graft, From: n.cfg.ID}})
			j = len(grafts) - 1
		}
		grafts[j].Msg.IDs = append(grafts[j].Msg.IDs, e.id)
		i++
	}
	n.msgs = append(n.msgs, grafts...)
}

package fanout

import (
	"math"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// materialize turns what the window holds for the stream's watchers into
// responses. It runs when the driver asks (Ready), before requests are
// answered, before the window evicts and before progress decisions, so
// output order is the order etcd's watcher channel would have: synced
// watchers get each revision in turn (watchableStore.notify runs per
// revision for all of them), then watchers that are behind get batches
// headed with the current revision (syncWatchers). Header revisions on a
// stream never go down, except etcd's 0 on compaction cancels.
func (s *Stream) materialize() {
	c := s.c
	minRev := int64(math.MaxInt64)
	for _, w := range s.order {
		if w.state != stateLive || w.nextRev > c.rev {
			continue
		}
		if w.nextRev < c.window.start {
			// The events this watcher still needs are gone (evicted while it
			// was too slow to take them, or skipped by a reload): etcd
			// cancels an unsynced watcher whose revision got compacted
			// (watcherGroup.chooseAll), here with the first revision still
			// available.
			s.compacted(w, c.window.start)
			c.slowCancels++
			continue
		}
		if w.synced {
			minRev = min(minRev, w.nextRev)
		}
	}
	if minRev <= c.rev {
		s.deliverSynced(minRev)
	}
	for _, w := range s.order {
		for w.state == stateLive && !w.synced && w.nextRev <= c.rev && w.pendingBytes < c.cfg.MaxPendingBytes {
			s.deliverBatch(w)
		}
	}
}

// deliverSynced is watchableStore.notify for every revision from minRev:
// one response per watcher and revision, headed with that revision.
//
// Which of a revision's events fall in a watcher's range is worked out once
// for a run of watchers with the same range (spanHits): a stream's watchers
// mostly watch one prefix, and a revision that changes many keys elsewhere
// (a rack's expiry deletes the keys of every service at once) was otherwise
// matched key by key against every watcher.
func (s *Stream) deliverSynced(minRev int64) {
	c := s.c
	var hits spanHits
	for _, g := range c.window.from(minRev) {
		hits.reset(g.events)
		for _, w := range s.order {
			if w.state != stateLive || !w.synced || w.nextRev > g.rev {
				continue
			}
			if w.pendingBytes >= c.cfg.MaxPendingBytes {
				// etcd: the watcher channel is full, the watcher becomes a
				// victim and then unsynced (notify, moveVictims): the rest
				// comes in batches once the driver takes its output.
				w.synced = false
				continue
			}
			var evs []*mvccpb.Event
			for _, i := range hits.of(w.span) {
				if ev := g.events[i]; ev.Kv.ModRevision >= w.nextRev && w.keep(ev) {
					evs = append(evs, w.output(ev, c.compactRev))
				}
			}
			w.nextRev = g.rev + 1
			s.emitEvents(w, g.rev, evs)
		}
	}
	for _, w := range s.order {
		if w.state == stateLive && w.synced && w.nextRev <= c.rev {
			w.nextRev = c.rev + 1 // no event for it since
		}
	}
}

// deliverBatch is watchableStore.syncWatchers for an unsynced watcher: every
// event from its revision on, up to MaxRevsPerResponse distinct revisions
// (watchBatchMaxRevs, counted before filters as eventBatch.add does), in one
// response headed with the current revision.
func (s *Stream) deliverBatch(w *watcher) {
	c := s.c
	var evs []*mvccpb.Event
	revs, more := 0, int64(0)
scan:
	for _, g := range c.window.from(w.nextRev) {
		counted := false
		for _, ev := range g.events {
			if !w.matches(ev) {
				continue
			}
			if !counted {
				counted = true
				if revs++; revs > c.cfg.MaxRevsPerResponse {
					more = g.rev
					break scan
				}
			}
			if w.keep(ev) {
				evs = append(evs, w.output(ev, c.compactRev))
			}
		}
	}
	if more != 0 {
		w.nextRev = more
	} else {
		w.nextRev = c.rev + 1
		w.synced = true
	}
	s.emitEvents(w, c.rev, evs)
}

// emitEvents sends a response with events; one whose events were all
// filtered is not sent (mvcc watcher.send).
func (s *Stream) emitEvents(w *watcher, rev int64, evs []*mvccpb.Event) {
	if len(evs) == 0 {
		return
	}
	w.pendingBytes += eventsBytes(evs)
	w.progressIdle = false
	s.emitWatch(w, &pb.WatchResponse{Header: s.c.header(rev), WatchId: w.id, Events: evs})
}

// emitWatch sends a response of the event channel, fragmented if the
// watcher asked for it (v3rpc sendLoop).
func (s *Stream) emitWatch(w *watcher, r *pb.WatchResponse) {
	if !w.fragment {
		s.emit(r)
		return
	}
	for _, f := range fragment(r, s.c.cfg.MaxResponseBytes) {
		s.emit(f)
	}
}

// spanHits lists which events of one revision fall in a range, worked out
// again only when the range differs from the one asked last.
type spanHits struct {
	events []*mvccpb.Event
	last   span
	valid  bool
	idx    []int // positions in events of the keys in last
}

// reset starts on another revision's events.
func (h *spanHits) reset(events []*mvccpb.Event) {
	h.events, h.valid, h.idx = events, false, h.idx[:0]
}

// of returns the positions of the events whose key is in sp, in order. The
// slice is valid until the next call.
func (h *spanHits) of(sp span) []int {
	if h.valid && h.last.equal(sp) {
		return h.idx
	}
	h.last, h.valid, h.idx = sp, true, h.idx[:0]
	for i, ev := range h.events {
		if sp.contains(ev.Kv.Key) {
			h.idx = append(h.idx, i)
		}
	}
	return h.idx
}

package fanout

import (
	"cmp"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// CatchUp feeds a catching-up watcher with what its upstream watch returned:
// events (with prev_kv) and uptoRev, the revision through which upstream has
// sent everything for the range (the response's header revision). Events
// already delivered are ignored, so responses may overlap; so are events
// beyond uptoRev or beyond the cache revision (the cache delivers those), so
// that no header on the stream runs ahead of the cache.
// It returns done once the watcher has reached the window and is served from
// the cache without a gap or a duplicate (or is gone): the driver then
// closes the upstream watch.
func (s *Stream) CatchUp(watchID int64, events []*mvccpb.Event, uptoRev int64) (done bool) {
	w := s.watchers[watchID]
	if s.closed || w == nil || w.state != stateCatchingUp {
		return true
	}
	c := s.c
	s.materialize()
	uptoRev = min(uptoRev, c.rev)
	evs := slices.SortedStableFunc(slices.Values(events), func(a, b *mvccpb.Event) int {
		return cmp.Compare(modRev(a), modRev(b))
	})
	var out []*mvccpb.Event
	revs, last := 0, int64(0)
	flush := func() {
		if len(out) > 0 {
			w.pendingBytes += eventsBytes(out)
			w.progressIdle = false
			// headed with the current revision, as syncWatchers does
			s.emitWatch(w, &pb.WatchResponse{Header: c.header(c.rev), WatchId: w.id, Events: out})
		}
		out, revs = nil, 0
	}
	for _, ev := range evs {
		if ev == nil || ev.Kv == nil || ev.Kv.ModRevision < w.nextRev || ev.Kv.ModRevision > uptoRev || !w.span.contains(ev.Kv.Key) {
			continue
		}
		if r := ev.Kv.ModRevision; r != last {
			if revs == c.cfg.MaxRevsPerResponse {
				flush()
			}
			revs++
			last = r
		}
		if w.keep(ev) {
			out = append(out, w.output(ev, c.compactRev))
		}
	}
	flush()
	if uptoRev >= w.nextRev {
		w.nextRev = uptoRev + 1
	}
	if w.nextRev >= c.windowStart(w.held) {
		w.state = stateLive
		w.synced = false
		return true
	}
	return false
}

// CatchUpCompacted reports that the upstream catch-up watch was cancelled by
// compaction at compactRev: the watcher is cancelled as etcd does.
func (s *Stream) CatchUpCompacted(watchID, compactRev int64) {
	s.c.SetCompactRev(compactRev)
	if w := s.watchers[watchID]; !s.closed && w != nil && w.state == stateCatchingUp {
		s.compacted(w, compactRev)
	}
}

func modRev(ev *mvccpb.Event) int64 {
	if ev == nil || ev.Kv == nil {
		return 0
	}
	return ev.Kv.ModRevision
}

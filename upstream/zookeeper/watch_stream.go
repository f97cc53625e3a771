package zookeeper

import (
	"bytes"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// What a stream answers follows etcd v3.7.3: v3rpc/watch.go (recvLoop,
// sendLoop, sendFragments) and mvcc's watcher.go, watchable_store.go and
// watcher_group.go. The comments name the function each step mirrors.

const (
	// clientv3.AutoWatchID: 0 asks for an ID, so a caller cannot choose 0.
	autoWatchID = 0
	// clientv3.InvalidWatchID: refused creates, and progress for all.
	invalidWatchID = -1
	// mvcc's watchBatchMaxRevs: the most revisions in one response to a
	// watch catching up.
	watchBatchMaxRevs = 1000

	reasonEmptyRange  = "mvcc: watcher range is empty"                         // mvcc.ErrEmptyWatcherRange
	reasonDuplicateID = "mvcc: duplicate watch ID provided on the WatchStream" // mvcc.ErrWatcherDuplicateID
)

// watcher is one watch of a stream.
type watcher struct {
	id       int64
	key, end []byte // end nil: to the last key (unless single)
	single   bool
	startRev int64 // as asked (0: from now)
	next     int64 // the first revision not yet sent

	noPut, noDelete, prevKV, fragment, progressNotify bool

	progressIdle bool // no events since the last progress tick (v3rpc's progress map)
	compacted    bool // cancelled with CompactRevision: its ID stays taken until Cancel
}

func (w *watcher) contains(key []byte) bool {
	if w.single {
		return bytes.Equal(key, w.key)
	}
	return inRange(key, w.key, w.end)
}

// event is ev as this watch sends it: its own copy, prev_kv only when
// asked for and not a create (v3rpc sendLoop's IsCreateEvent).
func (w *watcher) event(ev *mvccpb.Event) *mvccpb.Event {
	out := &mvccpb.Event{Type: ev.Type, Kv: cloneKV(ev.Kv)}
	create := ev.Type == mvccpb.PUT && ev.Kv.CreateRevision == ev.Kv.ModRevision
	if w.prevKV && !create && ev.PrevKv != nil {
		out.PrevKv = cloneKV(ev.PrevKv)
	}
	return out
}

func (w *watcher) filtered(ev *mvccpb.Event) bool {
	return (w.noPut && ev.Type == mvccpb.PUT) || (w.noDelete && ev.Type == mvccpb.DELETE)
}

func watchHeader(rev int64) *pb.ResponseHeader { return &pb.ResponseHeader{Revision: rev} }

func (s *watchStream) emit(r *pb.WatchResponse) { s.out = append(s.out, r) }

func (s *watchStream) handle(r watchRequest, v view) {
	switch {
	case r.create != nil:
		s.create(r.create, r.rev, v)
	case r.progress:
		s.progressAll(v)
	default:
		s.cancel(r.cancel, v)
	}
}

// create follows recvLoop, then mvcc watchStream.Watch and
// watchableStore.watch, in their order of checks. rev is the window's
// revision when Create was called: the created answer's, and the one a
// watch from now starts after.
func (s *watchStream) create(creq *pb.WatchCreateRequest, rev int64, v view) {
	refuse := func(reason string) {
		s.emit(&pb.WatchResponse{Header: watchHeader(rev), WatchId: invalidWatchID, Created: true, Canceled: true, CancelReason: reason})
	}
	if creq.StartRevision < 0 {
		refuse(rpctypes.ErrCompacted.Error())
		return
	}
	w := &watcher{key: creq.Key, startRev: creq.StartRevision, progressNotify: creq.ProgressNotify,
		prevKV: creq.PrevKv, fragment: creq.Fragment, progressIdle: true}
	if len(w.key) == 0 {
		w.key = []byte{0} // "\x00 is the smallest key"
	}
	switch end := creq.RangeEnd; {
	case len(end) == 0:
		w.single = true
	case isOpenEnd(end):
	case bytes.Compare(w.key, end) >= 0:
		refuse(reasonEmptyRange)
		return
	default:
		w.end = end
	}
	for _, f := range creq.Filters {
		w.noPut = w.noPut || f == pb.WatchCreateRequest_NOPUT
		w.noDelete = w.noDelete || f == pb.WatchCreateRequest_NODELETE
	}
	w.id = creq.WatchId
	if w.id == autoWatchID {
		for s.watchers[s.nextID] != nil {
			s.nextID++
		}
		w.id = s.nextID
		s.nextID++
	} else if s.watchers[w.id] != nil {
		refuse(reasonDuplicateID)
		return
	}
	s.watchers[w.id] = w
	s.order = append(s.order, w)
	s.emit(&pb.WatchResponse{Header: watchHeader(rev), WatchId: w.id, Created: true})
	switch start := creq.StartRevision; {
	case start == 0:
		w.next = rev + 1
	default:
		w.next = start
	}
	// A watch from before the window: created first, then the compacted
	// cancel (syncWatchers → chooseAll).
	s.compactIfGone(w, v)
}

// compactIfGone cancels w as mvcc's chooseAll does when the window no
// longer holds the revisions w needs: CompactRevision is the oldest
// revision it could be served from, the header's revision 0 (mvcc's
// response has none), no cancel reason.
func (s *watchStream) compactIfGone(w *watcher, v view) {
	if w.compacted || w.next > v.floor {
		return
	}
	w.compacted = true
	s.emit(&pb.WatchResponse{Header: watchHeader(0), WatchId: w.id, Canceled: true, CompactRevision: v.floor + 1})
}

// cancel follows recvLoop: an unknown ID gets no answer.
func (s *watchStream) cancel(id int64, v view) {
	w := s.watchers[id]
	if w == nil {
		return
	}
	delete(s.watchers, id)
	for i, o := range s.order {
		if o == w {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.emit(&pb.WatchResponse{Header: watchHeader(v.bound), WatchId: id, Canceled: true})
}

// deliver sends every watch the window's events it has not had, one
// response per watch of at most watchBatchMaxRevs revisions (a revision's
// events are never split), filtered (watcher.send: a response left empty
// is not sent), fragmented if asked (sendFragments).
func (s *watchStream) deliver(v view) {
	for _, w := range s.order {
		s.compactIfGone(w, v)
		if w.compacted || w.next > v.bound {
			continue
		}
		var evs []*mvccpb.Event
		revs, last, next := 0, int64(0), v.bound+1
		for _, ev := range v.from(w.next) {
			rev := ev.Kv.ModRevision
			if rev > v.bound {
				break
			}
			if !w.contains(ev.Kv.Key) {
				continue
			}
			if rev != last {
				if revs == watchBatchMaxRevs {
					next = rev
					break
				}
				revs, last = revs+1, rev
			}
			if !w.filtered(ev) {
				evs = append(evs, w.event(ev))
			}
		}
		w.next = next
		if len(evs) == 0 {
			continue
		}
		w.progressIdle = false
		wr := &pb.WatchResponse{Header: watchHeader(v.bound), WatchId: w.id, Events: evs}
		if w.fragment {
			s.out = append(s.out, fragment(wr, s.fragmentBytes)...)
		} else {
			s.emit(wr)
		}
	}
}

// synced is progressIfSync's test for one watch: everything up to the
// window's revision sent, and not waiting for a future start revision.
func synced(w *watcher, v view) bool {
	return !w.compacted && w.next > v.bound && v.bound >= w.startRev
}

// progressAll answers RequestProgress (RequestProgressAll): watch ID -1
// and the window's revision, only if every watch of the stream is synced;
// nothing on a stream without watches (etcd sends it "on the first
// watcher").
func (s *watchStream) progressAll(v view) {
	if len(s.order) == 0 {
		return
	}
	for _, w := range s.order {
		if !synced(w, v) {
			return
		}
	}
	s.emit(&pb.WatchResponse{Header: watchHeader(v.bound), WatchId: invalidWatchID})
}

// tick is sendLoop's progress ticker: each progress_notify watch that got
// no event since the last tick and is synced hears the window's revision.
func (s *watchStream) tick(v view) {
	for _, w := range s.order {
		if !w.progressNotify {
			continue
		}
		if w.progressIdle && synced(w, v) {
			s.emit(&pb.WatchResponse{Header: watchHeader(v.bound), WatchId: w.id})
		}
		w.progressIdle = true
	}
}

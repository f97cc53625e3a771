package fanout

import (
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// syncedForProgress is watchableStore.progressIfSync's test for one
// watcher: in the synced group (everything up to the current revision handed
// out) and not waiting for a future start revision.
func (s *Stream) syncedForProgress(w *watcher) bool {
	return w.state == stateLive && w.nextRev > s.c.rev && s.c.rev >= w.startRev
}

// progressAll answers a ProgressRequest (mvcc RequestProgressAll): one
// response with watch_id -1 and the current revision, only if every watcher
// of the stream is synced — and none at all on a stream without watchers,
// since etcd sends it "on the first watcher".
func (s *Stream) progressAll() {
	for _, w := range s.order {
		if w.state == stateExternal {
			s.rd.ForwardProgress = true
			return
		}
	}
	s.materialize()
	if len(s.order) == 0 {
		return
	}
	for _, w := range s.order {
		if !s.syncedForProgress(w) {
			return
		}
	}
	s.emit(&pb.WatchResponse{Header: s.c.header(s.c.rev), WatchId: invalidWatchID})
}

// tick is the stream's progress ticker (v3rpc sendLoop): every interval,
// each progress_notify watcher that got no event since the last tick and is
// synced gets an empty response with its id and the current revision.
func (s *Stream) tick(now time.Time) {
	iv := s.c.cfg.ProgressInterval
	if iv <= 0 {
		return
	}
	if s.nextProgress.IsZero() { // opened before the first Tick
		s.nextProgress = now.Add(iv)
		return
	}
	if now.Before(s.nextProgress) {
		return
	}
	// Like time.Ticker, missed ticks are dropped.
	if s.nextProgress = s.nextProgress.Add(iv); !now.Before(s.nextProgress) {
		s.nextProgress = now.Add(iv)
	}
	s.materialize()
	for _, w := range s.order {
		if !w.progressNotify || w.state == stateExternal {
			continue
		}
		if w.progressIdle && s.syncedForProgress(w) {
			s.emitWatch(w, &pb.WatchResponse{Header: s.c.header(s.c.rev), WatchId: w.id})
		}
		w.progressIdle = true
	}
}

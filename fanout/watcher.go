package fanout

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

type watcherState int

const (
	// served from the cache window
	stateLive watcherState = iota
	// fed by the driver's upstream catch-up watch until it reaches the window
	stateCatchingUp
	// cancelled with compact_revision; etcd keeps the id registered until the
	// client cancels it (mvcc watchStream.watchers is only cleared by Cancel)
	stateCompacted
	// outside the fan-out prefixes: served by the driver, id reserved here
	stateExternal
)

type watcher struct {
	id       int64
	span     span
	held     *heldSpan // the range it is served from (Config.OnDemand)
	startRev int64
	// nextRev is the first revision not yet delivered (etcd's minRev).
	nextRev int64
	state   watcherState
	// synced watchers get one response per revision with that revision in
	// the header (watchableStore.notify); others get batches of up to
	// MaxRevsPerResponse revisions with the cache revision (syncWatchers).
	synced bool

	prevKV, fragment bool
	noPut, noDelete  bool
	// progressNotify and progressIdle are etcd's sws.progress[id]: idle is
	// cleared when a response with events goes out.
	progressNotify, progressIdle bool

	pendingBytes int
}

func newWatcher(id int64, sp span, creq *pb.WatchCreateRequest) *watcher {
	w := &watcher{
		id:             id,
		span:           sp,
		startRev:       creq.StartRevision,
		prevKV:         creq.PrevKv,
		fragment:       creq.Fragment,
		progressNotify: creq.ProgressNotify,
		progressIdle:   creq.ProgressNotify,
	}
	for _, f := range creq.Filters {
		switch f {
		case pb.WatchCreateRequest_NOPUT:
			w.noPut = true
		case pb.WatchCreateRequest_NODELETE:
			w.noDelete = true
		}
	}
	return w
}

// matches reports whether ev is in the watcher's range, before filters.
func (w *watcher) matches(ev *mvccpb.Event) bool {
	return ev.Kv.ModRevision >= w.nextRev && w.span.contains(ev.Kv.Key)
}

// keep applies the NOPUT / NODELETE filters (mvcc watcher.send).
func (w *watcher) keep(ev *mvccpb.Event) bool {
	if ev.Type == mvccpb.Event_PUT {
		return !w.noPut
	}
	return !w.noDelete
}

// output is the event as this watcher receives it, key-values copied so the
// caller may rewrite their fields. prev_kv only if asked, not for a creation,
// and not if the revision before the event is compacted: v3rpc sendLoop
// reads it with a Range at ModRevision-1, which then fails and leaves
// prev_kv unset (seen on etcd 3.7.3 with a watch from a compacted-adjacent
// revision).
func (w *watcher) output(ev *mvccpb.Event, compactRev int64) *mvccpb.Event {
	out := &mvccpb.Event{Type: ev.Type, Kv: copyKV(ev.Kv)}
	if w.prevKV && !isCreate(ev) && ev.PrevKv != nil && ev.Kv.ModRevision-1 >= compactRev {
		out.PrevKv = copyKV(ev.PrevKv)
	}
	return out
}

func copyKV(kv *mvccpb.KeyValue) *mvccpb.KeyValue {
	if kv == nil {
		return nil
	}
	return &mvccpb.KeyValue{
		Key:            kv.Key,
		CreateRevision: kv.CreateRevision,
		ModRevision:    kv.ModRevision,
		Version:        kv.Version,
		Value:          kv.Value,
		Lease:          kv.Lease,
	}
}

// eventsBytes estimates a response's size for the pending bound.
func eventsBytes(evs []*mvccpb.Event) int {
	n := 0
	for _, ev := range evs {
		n += len(ev.Kv.Key) + len(ev.Kv.Value) + 32
		if ev.PrevKv != nil {
			n += len(ev.PrevKv.Key) + len(ev.PrevKv.Value) + 32
		}
	}
	return n
}

package fanout

import (
	"bytes"
	"sort"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// fakeEtcd is a tiny reference MVCC store: it produces the events, prev_kvs
// and snapshots a real etcd would, so tests can build batches and compute
// expected watch streams naively.
type fakeEtcd struct {
	rev     int64
	kvs     map[string]*mvccpb.KeyValue
	history []*mvccpb.Event // every event, revision-ordered, with PrevKv
}

func newFakeEtcd() *fakeEtcd { return &fakeEtcd{rev: 1, kvs: map[string]*mvccpb.KeyValue{}} }

type op struct {
	del   bool
	key   string
	value string
	lease int64
}

// txn applies ops as one revision; it returns the events (none, and no new
// revision, if nothing changed, as etcd does for a delete of nothing).
func (e *fakeEtcd) txn(ops ...op) []*mvccpb.Event {
	rev := e.rev + 1
	var evs []*mvccpb.Event
	for _, o := range ops {
		prev := e.kvs[o.key]
		if o.del {
			if prev == nil {
				continue
			}
			delete(e.kvs, o.key)
			evs = append(evs, &mvccpb.Event{Type: mvccpb.Event_DELETE, Kv: &mvccpb.KeyValue{Key: []byte(o.key), ModRevision: rev}, PrevKv: prev})
			continue
		}
		kv := &mvccpb.KeyValue{Key: []byte(o.key), Value: []byte(o.value), ModRevision: rev, CreateRevision: rev, Version: 1, Lease: o.lease}
		if prev != nil {
			kv.CreateRevision = prev.CreateRevision
			kv.Version = prev.Version + 1
		}
		e.kvs[o.key] = kv
		ev := &mvccpb.Event{Type: mvccpb.Event_PUT, Kv: kv}
		if prev != nil {
			ev.PrevKv = prev
		}
		evs = append(evs, ev)
	}
	if len(evs) > 0 {
		e.rev = rev
		e.history = append(e.history, evs...)
	}
	return evs
}

// bump writes outside every prefix: a new revision no prefix watch sees.
func (e *fakeEtcd) bump() { e.rev++ }

func (e *fakeEtcd) snapshot() []*mvccpb.KeyValue { return e.snapshotOf(e.kvs) }

func (e *fakeEtcd) snapshotOf(kvs map[string]*mvccpb.KeyValue) []*mvccpb.KeyValue {
	out := make([]*mvccpb.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, kv)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out
}

// at rebuilds the key-values at rev from the history.
func (e *fakeEtcd) at(rev int64) map[string]*mvccpb.KeyValue {
	m := map[string]*mvccpb.KeyValue{}
	for _, ev := range e.history {
		if ev.Kv.ModRevision > rev {
			break
		}
		if ev.Type == mvccpb.Event_DELETE {
			delete(m, string(ev.Kv.Key))
		} else {
			m[string(ev.Kv.Key)] = ev.Kv
		}
	}
	return m
}

// eventsFrom returns the history with revisions in [from, upto].
func (e *fakeEtcd) eventsFrom(from, upto int64) []*mvccpb.Event {
	var out []*mvccpb.Event
	for _, ev := range e.history {
		if r := ev.Kv.ModRevision; r >= from && r <= upto {
			out = append(out, ev)
		}
	}
	return out
}

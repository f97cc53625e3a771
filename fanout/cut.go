package fanout

import (
	"cmp"
	"slices"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Cutter cuts what a feeder's upstream watch sends into batches chained by
// revision, the first with PrevRev from-1. It is the feeder's protocol
// decision; the driver (fanout/feed) owns the watch stream and asks etcd
// for progress when told to.
//
// With one prefix, each events answer is a cut (a watcher sends revisions
// in order, and a revision whole): one upstream message per batch. With
// several, a batch ends at a revision R only when etcd has answered a
// progress request with R, which it does only once every watcher on the
// stream has sent everything up to R, so the cut is exact across prefixes
// at the price of one more message. An answer to a progress request that
// finds nothing new cuts a heartbeat (Batch.Heartbeat), so that a herald
// that lost the last batch learns it on an idle cluster too.
type Cutter struct {
	single  bool
	prev    int64
	pending []*mvccpb.Event
}

// NewCutter starts the chain of a watch of prefixes prefixes from
// revision from.
func NewCutter(prefixes int, from int64) *Cutter {
	return &Cutter{single: prefixes == 1, prev: from - 1}
}

// Events takes the events of one upstream answer. It returns the batch
// they complete (cut true), or, with several prefixes, cut false: the
// driver then asks etcd for progress and passes the answer to Progress.
func (c *Cutter) Events(evs []*mvccpb.Event) (b Batch, cut bool) {
	c.pending = append(c.pending, evs...)
	if !c.single || len(evs) == 0 {
		return Batch{}, false
	}
	return c.cut(evs[len(evs)-1].Kv.ModRevision), true
}

// Progress takes the header revision of etcd's answer to a progress
// request and returns the batch it cuts: everything pending up to rev, a
// progress batch when nothing is pending, or a heartbeat when rev has not
// moved past the chain.
func (c *Cutter) Progress(rev int64) Batch { return c.cut(rev) }

// Witnessed takes a store revision etcd reported on another answer since
// the last cut (upstream.Witness). When the chain already reaches it and
// nothing is pending, nothing newer existed when etcd answered: it returns
// the heartbeat a progress request would have cut, and ok. Otherwise ok is
// false, and the driver asks etcd for progress as before.
func (c *Cutter) Witnessed(rev int64) (b Batch, ok bool) {
	if len(c.pending) > 0 || rev > c.prev {
		return Batch{}, false
	}
	return c.cut(c.prev), true
}

func (c *Cutter) cut(rev int64) Batch {
	b := Batch{PrevRev: c.prev, Rev: max(rev, c.prev), Events: orderEvents(c.pending), ProgressOnly: len(c.pending) == 0}
	c.pending, c.prev = nil, b.Rev
	return b
}

// orderEvents puts events from several watchers in revision order, keeping
// each revision's events in the order etcd sent them, without duplicates
// (overlapping prefixes see the same event twice).
func orderEvents(evs []*mvccpb.Event) []*mvccpb.Event {
	slices.SortStableFunc(evs, func(a, b *mvccpb.Event) int { return cmp.Compare(a.Kv.ModRevision, b.Kv.ModRevision) })
	out := evs[:0]
	type id struct {
		rev int64
		key string
	}
	seen := map[id]bool{}
	for _, ev := range evs {
		k := id{ev.Kv.ModRevision, string(ev.Kv.Key)}
		if !seen[k] {
			seen[k] = true
			out = append(out, ev)
		}
	}
	return out
}

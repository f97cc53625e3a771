package fanout

import (
	"sort"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// revEvents are the events of one revision, as the window keeps them.
type revEvents struct {
	rev    int64
	events []*mvccpb.Event
	bytes  int
	at     time.Time // when the cache applied them
}

// window is the bounded, revision-ordered history of recent events. It is
// complete from start: every event of a fan-out prefix with a revision >=
// start (and <= the cache revision) is in it.
type window struct {
	groups []revEvents // groups[head:] are live
	head   int
	events int
	bytes  int
	start  int64
}

func (w *window) reset(start int64) {
	*w = window{start: start}
}

func (w *window) live() []revEvents { return w.groups[w.head:] }

func (w *window) add(rev int64, evs []*mvccpb.Event, at time.Time) {
	n := 0
	for _, ev := range evs {
		n += proto.Size(ev)
	}
	w.groups = append(w.groups, revEvents{rev: rev, events: evs, bytes: n, at: at})
	w.events += len(evs)
	w.bytes += n
}

// overBy reports whether the oldest revision must go to respect cfg at now.
func (w *window) over(cfg *Config, now time.Time) bool {
	g := w.live()
	if len(g) == 0 {
		return false
	}
	return w.events > cfg.MaxEvents || w.bytes > cfg.MaxBytes ||
		(cfg.MaxAge > 0 && now.Sub(g[0].at) > cfg.MaxAge)
}

// evictOldest drops the oldest revision; the window then starts after it.
func (w *window) evictOldest() {
	g := w.groups[w.head]
	w.groups[w.head] = revEvents{}
	w.head++
	w.events -= len(g.events)
	w.bytes -= g.bytes
	w.start = g.rev + 1
	if w.head > 64 && w.head*2 > len(w.groups) {
		w.groups = append([]revEvents(nil), w.groups[w.head:]...)
		w.head = 0
	}
}

// from returns the live revisions >= rev.
func (w *window) from(rev int64) []revEvents {
	g := w.live()
	i := sort.Search(len(g), func(i int) bool { return g[i].rev >= rev })
	return g[i:]
}

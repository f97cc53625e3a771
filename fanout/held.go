package fanout

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// An on-demand cache (Config.OnDemand) keeps only the ranges of the fan-out
// prefixes that it is asked for, because every herald receives the events
// of the whole prefixes while its own clients watch a few services of them:
// keeping all would cost every herald the whole fleet's registrations.
//
//   - A watch of a range holds it from the cache's revision at the watch's
//     creation (since): the window records the range's events after since.
//     A watch from an older revision catches up from upstream, as one from
//     beyond the window does.
//   - A serializable Range of a range not yet loaded is refused (the proxy
//     asks etcd) and the range is wanted: the driver takes it with Wants,
//     reads it from etcd (a linearizable read, so at a revision >= since)
//     and gives the answer to LoadRange, which installs it once the cache
//     has reached its revision, with the window's later events applied.
//     Ranges are then served locally, at revisions from the snapshot's on.
//   - A range no watcher holds and no Range read for Linger is dropped;
//     its events stay in the window until they age out.
//
// Single keys held (a herald's clients may watch thousands: elections,
// locks, configuration keys) are found by key; ranges (the few services a
// rack's clients watch) are matched against each event one by one.

// heldSpan is one range an on-demand cache keeps.
type heldSpan struct {
	sp       span
	since    int64     // the window holds the span's events after since
	watchers int       // watchers of the cache's streams that hold it
	lastUse  time.Time // when its last watcher left, or a Range last read it
	kv       kvState
	kvRev    int64     // kvLoaded: the snapshot's revision, the oldest a Range may read
	snap     *snapshot // kvFetching: an answer ahead of the cache, waiting for it
	failed   time.Time // when the driver last failed to read it (LoadRangeFailed)
}

// loadRetryAfter is how long a range whose read failed (etcd refused
// herald's own user, or did not answer) is not wanted again: each read of
// it goes to etcd meanwhile, and is not doubled by a read for the cache.
const loadRetryAfter = 5 * time.Second

type kvState int

const (
	kvNone     kvState = iota // only the span's events are kept
	kvWanted                  // a Range asked for it: Wants hands it to the driver
	kvFetching                // the driver is reading it from etcd
	kvLoaded                  // kv holds the span's key-values
)

type snapshot struct {
	rev int64
	kvs []*mvccpb.KeyValue
}

// RangeRequest is a range the driver reads from etcd for LoadRange (etcd's
// encoding of key and range_end).
type RangeRequest struct {
	Key, RangeEnd []byte
}

// heldSpans are an on-demand cache's held spans: all in the order they
// were first held, single keys by key, ranges on their own.
type heldSpans struct {
	all    []*heldSpan
	keys   map[string]*heldSpan
	ranges []*heldSpan
	snaps  int // spans with a snapshot waiting (heldSpan.snap)
}

func (hs *heldSpans) add(h *heldSpan) {
	hs.all = append(hs.all, h)
	if h.sp.single {
		if hs.keys == nil {
			hs.keys = map[string]*heldSpan{}
		}
		hs.keys[string(h.sp.start)] = h
		return
	}
	hs.ranges = append(hs.ranges, h)
}

// deleteFunc drops the spans for which del is true and returns them.
func (hs *heldSpans) deleteFunc(del func(*heldSpan) bool) []*heldSpan {
	var gone []*heldSpan
	hs.all = slices.DeleteFunc(hs.all, func(h *heldSpan) bool {
		if !del(h) {
			return false
		}
		gone = append(gone, h)
		if h.sp.single {
			delete(hs.keys, string(h.sp.start))
		}
		return true
	})
	if len(gone) > 0 {
		hs.ranges = slices.DeleteFunc(hs.ranges, func(h *heldSpan) bool { return slices.Contains(gone, h) })
	}
	return gone
}

// find reports whether a held span contains key; loaded: one whose
// key-values are loaded.
func (hs *heldSpans) find(key []byte, loaded bool) bool {
	if h := hs.keys[string(key)]; h != nil && (!loaded || h.kv == kvLoaded) {
		return true
	}
	return slices.ContainsFunc(hs.ranges, func(h *heldSpan) bool {
		return (!loaded || h.kv == kvLoaded) && h.sp.contains(key)
	})
}

// keeps reports whether the window records events of key.
func (c *Cache) keeps(key []byte) bool {
	if !c.cfg.OnDemand {
		return c.inPrefixes(key)
	}
	return c.held.find(key, false)
}

// kvKeeps reports whether kv holds key's current value.
func (c *Cache) kvKeeps(key []byte) bool {
	if !c.cfg.OnDemand {
		return c.inPrefixes(key)
	}
	return c.held.find(key, true)
}

// hold returns the held span that a new watcher of sp (inside the prefixes)
// is served from, holding sp from now if none contains it; nil when the
// cache keeps everything.
func (c *Cache) hold(sp span) *heldSpan {
	if !c.cfg.OnDemand {
		return nil
	}
	h := c.holderOrNew(sp)
	h.watchers++
	return h
}

// holderOrNew returns the held span containing sp that holds it longest,
// holding sp from now if none does.
func (c *Cache) holderOrNew(sp span) *heldSpan {
	if h := c.holder(sp, false); h != nil {
		return h
	}
	return c.newHeld(sp)
}

// holder returns the held span containing sp that holds it longest (or,
// loaded set, that loaded it first); nil if none.
func (c *Cache) holder(sp span, loaded bool) *heldSpan {
	var best *heldSpan
	candidates := c.held.ranges
	if h := c.held.keys[string(sp.start)]; h != nil && sp.single {
		candidates = append([]*heldSpan{h}, candidates...)
	}
	for _, h := range candidates {
		if (loaded && h.kv != kvLoaded) || !sp.within(h.sp) {
			continue
		}
		if best == nil || (loaded && h.kvRev < best.kvRev) || (!loaded && h.since < best.since) {
			best = h
		}
	}
	return best
}

func (c *Cache) newHeld(sp span) *heldSpan {
	sp.start, sp.end = bytes.Clone(sp.start), bytes.Clone(sp.end)
	h := &heldSpan{sp: sp, since: c.rev, lastUse: c.now}
	c.held.add(h)
	return h
}

// release ends a watcher's hold on h.
func (c *Cache) release(h *heldSpan) {
	if h == nil {
		return
	}
	if h.watchers--; h.watchers == 0 {
		h.lastUse = c.now
	}
}

// windowStart is the oldest revision from which the window holds every
// event of a watcher held by h.
func (c *Cache) windowStart(h *heldSpan) int64 {
	if h == nil {
		return c.window.start
	}
	return max(c.window.start, h.since+1)
}

// rangeFrom reports whether the cache holds the key-values of sp, and the
// oldest revision at which it can read them (older ones need the window
// too). Reading marks the range used.
func (c *Cache) rangeFrom(sp span) (int64, bool) {
	if !c.covers(sp) {
		return 0, false
	}
	if !c.cfg.OnDemand || sp.empty() {
		return 0, true
	}
	h := c.holder(sp, true)
	if h == nil {
		return 0, false
	}
	h.lastUse = c.now
	return h.kvRev, true
}

// ServesRange reports whether a Range of [key, end) may be answered by
// Range: the cache is loaded and keeps the range's key-values. An
// on-demand cache that does not yet keep a range inside the prefixes
// wants it: the driver reads it from etcd (Wants, LoadRange) while this
// Range and the next go to etcd.
func (c *Cache) ServesRange(key, end []byte) bool {
	if !c.Loaded() || len(key) == 0 {
		return false
	}
	sp := requestSpan(key, end)
	if _, ok := c.rangeFrom(sp); ok || !c.cfg.OnDemand || !c.covers(sp) {
		return ok
	}
	h := c.holderOrNew(sp)
	h.lastUse = c.now
	if h.kv == kvNone && (h.failed.IsZero() || c.now.Sub(h.failed) >= loadRetryAfter) {
		h.kv = kvWanted
	}
	return false
}

// Wants returns the ranges the driver should read from etcd (a
// linearizable Range, no limit) and give to LoadRange, or to LoadRangeFailed
// if the read fails. Each is handed out once.
func (c *Cache) Wants() []RangeRequest {
	var out []RangeRequest
	for _, h := range c.held.all {
		if h.kv != kvWanted {
			continue
		}
		h.kv = kvFetching
		out = append(out, h.request())
	}
	return out
}

// request is h's range in etcd's encoding.
func (h *heldSpan) request() RangeRequest {
	end := h.sp.end
	switch {
	case h.sp.single:
		end = nil
	case h.sp.unbounded:
		end = []byte{0}
	}
	return RangeRequest{Key: h.sp.start, RangeEnd: end}
}

// KeptRanges returns the ranges whose key-values the cache keeps, and
// whether it keeps only those (Config.OnDemand): then a snapshot of those
// ranges is all that LoadRanges needs.
func (c *Cache) KeptRanges() ([]RangeRequest, bool) {
	if !c.cfg.OnDemand {
		return nil, false
	}
	var out []RangeRequest
	for _, h := range c.held.all {
		if h.kv == kvLoaded {
			out = append(out, h.request())
		}
	}
	return out, true
}

// fetching returns the held span of a range handed out by Wants and not
// answered yet.
func (c *Cache) fetching(key, end []byte) *heldSpan {
	sp := requestSpan(key, end)
	for _, h := range c.held.all {
		if h.kv == kvFetching && h.snap == nil && h.sp.equal(sp) {
			return h
		}
	}
	return nil
}

// LoadRange gives the cache etcd's answer to a range that Wants handed
// out: its key-values at revision rev (the answer's header revision). The
// cache installs them now or, when rev is ahead of it, once it reaches rev.
// An answer the window cannot bring up to date (the window moved past rev,
// or a resynchronizing Load did) is dropped: the next Range wants the range
// again.
func (c *Cache) LoadRange(key, end []byte, rev int64, kvs []*mvccpb.KeyValue) error {
	h := c.fetching(key, end)
	if h == nil {
		return fmt.Errorf("fanout: no range [%q, %q) is being read", key, end)
	}
	h.snap = &snapshot{rev: rev, kvs: kvs}
	c.held.snaps++
	c.installReady()
	return nil
}

// LoadRangeFailed reports that the driver could not read a range that
// Wants handed out: a Range of it loadRetryAfter later wants it again.
func (c *Cache) LoadRangeFailed(key, end []byte) {
	if h := c.fetching(key, end); h != nil {
		h.kv, h.failed = kvNone, c.now
	}
}

// installReady installs the snapshots that the cache has reached.
func (c *Cache) installReady() {
	if c.held.snaps == 0 {
		return
	}
	for _, h := range c.held.all {
		if h.snap != nil && h.snap.rev <= c.rev {
			c.install(h)
		}
	}
}

// install puts h's snapshot in kv, with the window's events after it.
func (c *Cache) install(h *heldSpan) {
	snap := h.snap
	h.snap = nil
	c.held.snaps--
	if snap.rev < h.since || snap.rev+1 < c.window.start {
		h.kv = kvNone // the window lacks events after the snapshot
		return
	}
	mine := func(key []byte) bool { return h.sp.contains(key) && !c.kvKeeps(key) }
	for _, kv := range snap.kvs {
		if kv != nil && mine(kv.Key) {
			c.kv.put(kv)
		}
	}
	for _, g := range c.window.from(snap.rev + 1) {
		for _, ev := range g.events {
			if mine(ev.Kv.Key) {
				c.kv.apply(ev)
			}
		}
	}
	h.kv, h.kvRev = kvLoaded, snap.rev
	h.lastUse = c.now
}

// reload is Load's part for an on-demand cache: the loaded ranges that the
// snapshot covers (covered nil: all) take its key-values, the others are
// no longer loaded (their next read wants them again), and answers older
// than the snapshot are dropped.
func (c *Cache) reload(rev int64, covered []span) {
	for _, h := range c.held.all {
		switch {
		case h.kv == kvLoaded && covered != nil && !slices.ContainsFunc(covered, h.sp.within):
			h.kv = kvNone
		case h.kv == kvLoaded:
			h.kvRev = rev
		case h.snap != nil && h.snap.rev <= rev:
			h.snap, h.kv = nil, kvNone
			c.held.snaps--
		}
	}
}

// dropIdle lets go of the ranges no watcher held and no Range read for
// Linger, and of their key-values.
func (c *Cache) dropIdle() {
	dropped := c.held.deleteFunc(func(h *heldSpan) bool {
		return h.watchers == 0 && h.kv != kvFetching && c.now.Sub(h.lastUse) > c.cfg.Linger
	})
	for _, h := range dropped {
		if h.kv == kvLoaded {
			c.kv.deleteFunc(h.sp, func(key []byte) bool { return !c.kvKeeps(key) })
		}
	}
}

// nextDrop is when dropIdle next has work, if ever.
func (c *Cache) nextDrop() (time.Time, bool) {
	var next time.Time
	ok := false
	for _, h := range c.held.all {
		if h.watchers > 0 || h.kv == kvFetching {
			continue
		}
		if t := h.lastUse.Add(c.cfg.Linger + 1); !ok || t.Before(next) {
			next, ok = t, true
		}
	}
	return next, ok
}

package fanout

import (
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Cache is the EventCache of one herald: the current key-values of the
// fan-out prefixes and a bounded window of their recent events, kept current
// by chained Batches, plus the watch streams served from it. Not safe for
// concurrent use: the driver serializes every call on a Cache and its
// Streams.
type Cache struct {
	cfg      Config
	prefixes []span

	chain      *Chain // orders the feeder's batches
	rev        int64  // kv and window are complete through rev (= chain.Rev())
	compactRev int64  // upstream compact revision, as last told
	raftTerm   uint64
	now        time.Time

	kv     kvStore
	window window
	held   heldSpans // the ranges kept, for Config.OnDemand (held.go)

	streams []*Stream

	slowCancels uint64 // for Stats
	lastAdvance time.Time
}

// NewCache returns an empty cache; it serves nothing until Load.
func NewCache(cfg Config) (*Cache, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cache{cfg: cfg, chain: NewChain(cfg.MaxHeldBatches)}
	for _, p := range cfg.Prefixes {
		c.prefixes = append(c.prefixes, prefixSpan([]byte(p)))
	}
	return c, nil
}

// Config returns the configuration in effect (defaults filled in).
func (c *Cache) Config() Config { return c.cfg }

// Rev is the revision through which the cache is complete (0 before Load).
func (c *Cache) Rev() int64 { return c.rev }

// CompactRev is the upstream compact revision last given.
func (c *Cache) CompactRev() int64 { return c.compactRev }

// WindowStart is the oldest revision from which the window holds every
// event: watches from an older revision need an upstream catch-up.
func (c *Cache) WindowStart() int64 { return c.window.start }

// Loaded reports whether a snapshot was loaded.
func (c *Cache) Loaded() bool { return c.chain.Loaded() }

// SetIdentity sets the cluster and member IDs that response headers carry
// (those of the upstream the driver loaded the cache from).
func (c *Cache) SetIdentity(clusterID, memberID uint64) {
	c.cfg.ClusterID, c.cfg.MemberID = clusterID, memberID
}

// SetCompactRev records the upstream compact revision (it only grows).
func (c *Cache) SetCompactRev(rev int64) {
	c.compactRev = max(c.compactRev, rev)
}

// SetRaftTerm sets the raft_term of response headers (from upstream headers).
func (c *Cache) SetRaftTerm(term uint64) { c.raftTerm = term }

// Load installs a snapshot of the fan-out prefixes taken at rev (keys outside
// the prefixes are ignored) and the upstream compact revision. It is called
// once at start, or later to resynchronize after a gap that could not be
// repaired: watchers that needed the skipped revisions are then cancelled
// with compact_revision, as etcd cancels watchers whose history is gone.
// Held batches that chain on the snapshot are applied.
func (c *Cache) Load(rev int64, kvs []*mvccpb.KeyValue, compactRev int64) (*Gap, error) {
	return c.load(rev, kvs, compactRev, nil)
}

// LoadRanges is Load with a snapshot of only the given ranges, for an
// on-demand cache: of what it keeps (KeptRanges), ranges the snapshot does
// not cover are no longer kept.
func (c *Cache) LoadRanges(rev int64, ranges []RangeRequest, kvs []*mvccpb.KeyValue, compactRev int64) (*Gap, error) {
	if !c.cfg.OnDemand {
		return nil, fmt.Errorf("fanout: a snapshot of %d ranges for a cache that keeps every key", len(ranges))
	}
	covered := make([]span, 0, len(ranges))
	for _, r := range ranges {
		covered = append(covered, requestSpan(r.Key, r.RangeEnd))
	}
	return c.load(rev, kvs, compactRev, covered)
}

func (c *Cache) load(rev int64, kvs []*mvccpb.KeyValue, compactRev int64, covered []span) (*Gap, error) {
	if rev < 0 || (c.Loaded() && rev < c.rev) {
		return nil, fmt.Errorf("fanout: load at revision %d behind cache revision %d", rev, c.rev)
	}
	c.materializeAll() // what watchers already could see stays deliverable
	c.reload(rev, covered)
	c.kv = kvStore{}
	for _, kv := range kvs {
		if kv != nil && c.kvKeeps(kv.Key) {
			c.kv.put(kv)
		}
	}
	c.rev = rev
	c.lastAdvance = c.now
	c.window.reset(rev + 1)
	c.SetCompactRev(compactRev)
	for _, b := range c.chain.Reset(rev) {
		c.applyChained(b)
	}
	c.installReady()
	return c.Gap(), nil
}

// Apply adds one batch from the feeder chain. Batches may arrive in any
// order and more than once: a batch that chains on what the cache holds
// (PrevRev <= Rev() < b.Rev) is applied, events it repeats are skipped, a
// batch already covered is dropped, and a batch beyond a gap is held (at most
// MaxHeldBatches, keeping the nearest) until the gap is filled. Apply returns
// the open gap, if any, after the batch.
func (c *Cache) Apply(b Batch) (*Gap, error) {
	ready, err := c.chain.Offer(b)
	if err != nil {
		return c.Gap(), err
	}
	for _, r := range ready {
		c.applyChained(r)
	}
	if len(ready) > 0 {
		c.installReady()
		c.evict()
	}
	return c.Gap(), nil
}

// Gap returns the missing revisions that hold back held batches (or, when
// the held buffer overflowed, that batches were seen up to), or nil.
func (c *Cache) Gap() *Gap { return c.chain.Gap() }

// applyChained applies a batch that the chain returned: it follows c.rev
// and holds no event at or below it.
func (c *Cache) applyChained(b Batch) {
	var group []*mvccpb.Event
	flush := func() {
		if len(group) > 0 {
			c.window.add(group[0].Kv.ModRevision, group, c.now)
			group = nil
		}
	}
	for _, ev := range b.Events {
		if !c.keeps(ev.Kv.Key) {
			continue // not ours
		}
		if len(group) > 0 && group[0].Kv.ModRevision != ev.Kv.ModRevision {
			flush()
		}
		group = append(group, ev)
		if c.kvKeeps(ev.Kv.Key) {
			c.kv.apply(ev)
		}
	}
	flush()
	c.rev = b.Rev
	c.lastAdvance = c.now
}

// evict trims the window to its bounds. Watchers get their output first, so
// that only a watcher already past MaxPendingBytes can lose history.
func (c *Cache) evict() {
	if !c.window.over(&c.cfg, c.now) {
		return
	}
	c.materializeAll()
	for c.window.over(&c.cfg, c.now) {
		c.window.evictOldest()
	}
}

// Tick advances the injected clock: it ages out events and fires
// progress_notify timers.
func (c *Cache) Tick(now time.Time) {
	if now.Before(c.now) {
		return
	}
	if c.now.IsZero() {
		// The first reading of the clock: what came before is "now", not
		// two thousand years old.
		for i := range c.window.groups {
			c.window.groups[i].at = now
		}
	}
	c.now = now
	c.evict()
	if c.cfg.OnDemand {
		c.dropIdle()
	}
	for _, s := range c.streams {
		s.tick(now)
	}
}

// NextDeadline is when Tick next has work: the window's oldest revision
// ages past MaxAge, or a stream's progress ticker fires. The driver's clock
// sleeps until then instead of ticking at a fixed rate; a time at or
// before the last Tick means "now". false: nothing waits for the clock.
// Inputs may bring the deadline closer (an Apply into an empty window, a
// new stream): the driver asks again after each.
func (c *Cache) NextDeadline() (time.Time, bool) {
	var next time.Time
	ok := false
	earliest := func(t time.Time) {
		if !ok || t.Before(next) {
			next, ok = t, true
		}
	}
	if g := c.window.live(); c.cfg.MaxAge > 0 && len(g) > 0 {
		// window.over evicts once the age is strictly past MaxAge.
		earliest(g[0].at.Add(c.cfg.MaxAge + 1))
	}
	if t, due := c.nextDrop(); due {
		earliest(t)
	}
	if c.cfg.ProgressInterval > 0 {
		for _, s := range c.streams {
			// A stream opened before the first Tick starts its ticker then.
			earliest(s.nextProgress)
		}
	}
	return next, ok
}

// ReadyStreams returns the streams that have output for their driver now
// (their Ready is not empty), in the order they were opened: after an
// input (Load, Apply, Tick) the driver wakes these and no others. It
// collects each stream's output as Ready would (and as eviction does), so
// a stream whose watchers match none of the new events is not reported.
func (c *Cache) ReadyStreams() []*Stream {
	var out []*Stream
	for _, s := range c.streams {
		if !s.HasReady() {
			continue
		}
		s.materialize()
		if !s.rd.empty() {
			out = append(out, s)
		}
	}
	return out
}

// Covers reports whether every key of [key, end) (etcd's encoding: an empty
// end is the single key, "\x00" every key >= key) lies in one fan-out
// prefix, and the cache is loaded: watches of it may be served here (reads
// ask ServesRange).
func (c *Cache) Covers(key, end []byte) bool {
	return c.Loaded() && len(key) > 0 && c.covers(requestSpan(key, end))
}

func (c *Cache) covers(sp span) bool {
	for _, p := range c.prefixes {
		if sp.within(p) {
			return true
		}
	}
	return false
}

func (c *Cache) inPrefixes(key []byte) bool {
	for _, p := range c.prefixes {
		if p.contains(key) {
			return true
		}
	}
	return false
}

func (c *Cache) header(rev int64) *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: c.cfg.ClusterID, MemberId: c.cfg.MemberID, Revision: rev, RaftTerm: c.raftTerm}
}

func (c *Cache) materializeAll() {
	for _, s := range c.streams {
		s.materialize()
	}
}

// Header is a response header at the cache's revision, as etcd heads the
// answers it gives outside any watch's events (a refused create).
func (c *Cache) Header() *pb.ResponseHeader { return c.header(c.rev) }

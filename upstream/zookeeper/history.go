package zookeeper

import (
	"context"
	"errors"
	"sort"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// history is the Client's window of recent events, which its watch streams
// read (doc.go, "Watch history"). One Follower of the whole key tree, started
// by Dial, feeds it from one goroutine that Close stops and waits for.
type history struct {
	limit    int // events kept (Config.WatchHistory)
	follower *Follower
	stop     context.CancelFunc
	done     chan struct{} // closed when the feeding goroutine has returned

	mu      sync.Mutex // guards what follows; never held across a read
	events  []*mvccpb.Event
	floor   int64         // every event above floor (and up to bound) is in events
	bound   int64         // every change up to bound is in events
	changed chan struct{} // closed, then replaced, when bound moves or the feed ends
	ended   bool
}

// defaultWatchHistory is how many events the window keeps by default.
const defaultWatchHistory = 100_000

// startHistory follows the whole key tree from now and feeds the window.
// Every revision read after it returns (a Range's, a write's) is at least
// the window's start, so a watch from such a revision + 1 is served.
func (c *Client) startHistory(ctx context.Context) error {
	if c.cfg.WatchHistory <= 0 {
		c.cfg.WatchHistory = defaultWatchHistory
	}
	if c.cfg.WatchProgressInterval <= 0 {
		c.cfg.WatchProgressInterval = defaultWatchProgressInterval
	}
	if c.cfg.WatchFragmentBytes <= 0 {
		c.cfg.WatchFragmentBytes = defaultWatchFragmentBytes
	}
	f, err := c.Follow(ctx, []byte{0}, []byte{0})
	if err != nil {
		return err
	}
	feedCtx, stop := context.WithCancel(context.Background())
	h := &history{
		limit: c.cfg.WatchHistory, follower: f, stop: stop, done: make(chan struct{}),
		floor: f.Revision(), bound: f.Revision(), changed: make(chan struct{}),
	}
	c.hist = h
	go h.feed(feedCtx, c)
	return nil
}

// feed appends every batch of the follower until it is closed. Next
// retries a lost connection or session itself; it returns only at the end.
func (h *history) feed(ctx context.Context, c *Client) {
	defer close(h.done)
	defer h.end()
	for {
		b, err := h.follower.Next(ctx)
		if err != nil {
			if !errors.Is(err, errFollowerClosed) && ctx.Err() == nil {
				c.log.Warn("zookeeper: watch history ends", "err", err)
			}
			return
		}
		h.append(b)
	}
}

// close stops the feed and waits for it; the window's readers see it end.
func (h *history) close() {
	h.stop()
	h.follower.Close()
	<-h.done
}

// append adds a batch and evicts the oldest revisions beyond the limit,
// whole revisions only: floor is then the last revision evicted.
func (h *history) append(b Batch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, b.Events...)
	h.bound = max(h.bound, b.Revision)
	if over := len(h.events) - h.limit; over > 0 {
		cut := over
		for cut < len(h.events) && h.events[cut].Kv.ModRevision == h.events[cut-1].Kv.ModRevision {
			cut++
		}
		h.floor = h.events[cut-1].Kv.ModRevision
		// Readers may hold the evicted part: it is dropped, never cleared.
		h.events = h.events[cut:]
	}
	h.broadcast()
}

func (h *history) end() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	h.broadcast()
}

func (h *history) broadcast() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// revision is the revision the window has reached.
func (h *history) revision() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bound
}

// view is one reading of the window: its events are read-only.
type view struct {
	events       []*mvccpb.Event
	floor, bound int64
	changed      <-chan struct{}
	ended        bool
}

func (h *history) view() view {
	h.mu.Lock()
	defer h.mu.Unlock()
	return view{events: h.events, floor: h.floor, bound: h.bound, changed: h.changed, ended: h.ended}
}

// from returns the events of revision rev and later.
func (v view) from(rev int64) []*mvccpb.Event {
	i := sort.Search(len(v.events), func(i int) bool { return v.events[i].Kv.ModRevision >= rev })
	return v.events[i:]
}

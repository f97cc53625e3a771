package proxy

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/fanout"
)

// Feeders are chosen deterministically from membership by rendezvous
// hashing: every herald ranks the live heralds by hash(name) and the first
// Feeders of them hold the upstream watch. No election round-trips to etcd,
// and a feeder's death moves the role as soon as membership notices it. Two
// heralds that briefly both think they feed (during a membership change)
// only send the same events twice, which the chained, idempotent cache
// absorbs; a new feeder resumes from its cache's revision + 1, so a handover
// loses and repeats nothing.
func (h *hub) isFeeder() bool {
	members := []string{h.name}
	if h.bus != nil {
		members = h.bus.Members()
		if !slices.Contains(members, h.name) {
			members = append(members, h.name)
		}
	}
	slices.SortFunc(members, func(a, b string) int {
		return cmp.Or(cmp.Compare(feederRank(b), feederRank(a)), cmp.Compare(a, b))
	})
	return slices.Contains(members[:min(h.opts.Feeders, len(members))], h.name)
}

func feederRank(name string) uint64 {
	f := fnv.New64a()
	f.Write([]byte("herald-feeder/" + name))
	return f.Sum64()
}

// feederLoop starts and stops feeding as membership changes.
func (h *hub) feederLoop(ctx context.Context) {
	var changes <-chan struct{}
	if h.bus != nil {
		changes = h.bus.Changes()
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var f background
	defer f.stop()
	for {
		switch want := h.isFeeder(); {
		case want && !f.running():
			f.start(ctx, h.feed)
		case !want && f.running():
			f.stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-t.C:
		}
	}
}

// background is one goroutine that can be started and stopped.
type background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (b *background) running() bool { return b.cancel != nil }

func (b *background) start(ctx context.Context, run func(context.Context)) {
	ctx, b.cancel = context.WithCancel(ctx)
	b.wg.Add(1)
	go func() { defer b.wg.Done(); run(ctx) }()
}

func (b *background) stop() {
	if b.cancel != nil {
		b.cancel()
		b.wg.Wait()
		b.cancel = nil
	}
}

// feed holds the upstream watch and broadcasts what it returns, until ctx
// ends; after a failure it resumes from the cache's revision + 1.
func (h *hub) feed(ctx context.Context) {
	fanoutFeeding.Set(1)
	defer fanoutFeeding.Set(0)
	h.log.Info("feeding the fleet from etcd")
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		// From the cache's own revision, not the next one: etcd answers no
		// progress request while a watch waits for a future revision, and
		// the feeder's heartbeats must flow on an idle cluster too. The one
		// revision of overlap is applied once (the cache is idempotent).
		h.mu.Lock()
		from := h.cache.Rev()
		h.mu.Unlock()
		err := h.follow(ctx, from, func(b fanout.Batch) bool {
			h.apply(b)
			if h.bus != nil {
				payload, err := b.MarshalBinary()
				if err == nil {
					err = h.bus.Broadcast(ctx, payload)
				}
				if err != nil && ctx.Err() == nil {
					h.log.Warn("broadcasting a fan-out batch failed", "rev", b.Rev, "err", err)
				}
			}
			return false
		})
		if ctx.Err() != nil {
			return
		}
		if c, ok := err.(errCompacted); ok {
			// The cache fell behind etcd's compaction: reload it, and the
			// fleet follows through its gap repair.
			h.setCompactRev(int64(c))
			if err = h.reload(ctx); err == nil {
				continue
			}
		}
		h.log.Warn("feeder watch failed; resuming", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// errCompacted says that etcd has compacted the revision a watch asked for;
// its value is etcd's compact revision.
type errCompacted int64

func (e errCompacted) Error() string {
	return fmt.Sprintf("required revision has been compacted (compact revision %d)", int64(e))
}

// progressEvery is how long a follower lets pass without a batch before it
// asks etcd for progress: the heartbeat that lets every herald see that it
// misses nothing, even when nothing happens.
const progressEvery = 500 * time.Millisecond

// follow watches every fan-out prefix upstream from revision from, on one
// stream, and hands emit the events cut into batches chained by revision.
// With one prefix, each events answer is a cut (a watcher sends revisions
// in order, and a revision whole): one upstream message per event batch.
// With several, a batch ends at a revision R only when etcd has answered a
// progress request with R, which it does only once every watcher on the
// stream has sent everything up to R, so the cut is exact across prefixes
// at the price of one more message. follow returns when emit returns true,
// ctx ends, or the watch fails.
func (h *hub) follow(ctx context.Context, from int64, emit func(fanout.Batch) bool) error {
	ctx, cancel := context.WithCancel(internalCtx(ctx))
	defer cancel()
	w, err := h.wc.Watch(ctx)
	if err != nil {
		return err
	}
	var sendMu sync.Mutex
	send := func(r *pb.WatchRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return w.Send(r)
	}
	askProgress := func() error {
		return send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}})
	}
	for i, p := range h.opts.Prefixes {
		err := send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
			Key: []byte(p), RangeEnd: prefixEnd([]byte(p)), StartRevision: from, PrevKv: true, WatchId: int64(i + 1),
		}}})
		if err != nil {
			return err
		}
	}
	var lastEmit atomic.Int64 // unix nanoseconds
	lastEmit.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(progressEvery / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, lastEmit.Load())) < progressEvery {
					continue
				}
				if askProgress() != nil {
					return
				}
			}
		}
	}()

	single := len(h.opts.Prefixes) == 1
	prev := from - 1
	var pending []*mvccpb.Event
	cut := func(rev int64, hdr *pb.ResponseHeader) bool {
		b := fanout.Batch{PrevRev: prev, Rev: max(rev, prev), Events: orderEvents(pending), ProgressOnly: len(pending) == 0}
		pending, prev = nil, b.Rev
		lastEmit.Store(time.Now().UnixNano())
		h.mu.Lock()
		h.cache.SetRaftTerm(hdr.GetRaftTerm())
		h.mu.Unlock()
		return emit(b)
	}
	for {
		resp, err := w.Recv()
		if err != nil {
			return err
		}
		fanoutUpstreamWatches.Inc()
		switch {
		case resp.Canceled:
			if resp.CompactRevision > 0 {
				return errCompacted(resp.CompactRevision)
			}
			return fmt.Errorf("upstream canceled the fan-out watch: %s", resp.CancelReason)
		case resp.CompactRevision > 0:
			return errCompacted(resp.CompactRevision)
		case resp.Created:
			continue
		case len(resp.Events) > 0:
			pending = append(pending, resp.Events...)
			if single {
				if cut(resp.Events[len(resp.Events)-1].Kv.ModRevision, resp.Header) {
					return nil
				}
			} else if err := askProgress(); err != nil {
				return err
			}
		case resp.WatchId == -1: // the answer to a progress request
			rev := resp.Header.GetRevision()
			if rev <= prev && len(pending) == 0 {
				lastEmit.Store(time.Now().UnixNano()) // nothing new, but heard
				continue
			}
			if cut(rev, resp.Header) {
				return nil
			}
		}
	}
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

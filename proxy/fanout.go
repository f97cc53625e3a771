package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/fanout"
)

// FanoutOptions configure the fleet watch fan-out. No prefixes turns it off.
type FanoutOptions struct {
	// Prefixes are the key prefixes whose watches and serializable reads
	// are served from the fleet's event cache.
	Prefixes []string
	// Feeders is how many heralds of the fleet hold the upstream watch.
	Feeders int
	// WindowEvents, WindowBytes and WindowAge bound the cache's window of
	// recent events (watches from older revisions catch up from etcd); zero
	// takes fanout.DefaultConfig's.
	WindowEvents, WindowBytes int
	WindowAge                 time.Duration
	// ProgressNotifyInterval is etcd's --watch-progress-notify-interval for
	// watches served from the cache (0: etcd's default, 10 minutes).
	ProgressNotifyInterval time.Duration
	// RepairDelay is how long a gap may wait for the broadcast tree's own
	// repair before herald fetches the missing events from etcd.
	RepairDelay time.Duration
}

// Bus is the fleet's broadcast tree, as the fan-out uses it. A nil Bus is a
// herald on its own: it is its own feeder.
type Bus interface {
	// Broadcast sends payload to every herald of the fleet (this one
	// included, through Deliveries). It may block briefly.
	Broadcast(ctx context.Context, payload []byte) error
	// Deliveries yields every payload broadcast in the fleet, at least once.
	Deliveries() <-chan []byte
	// Members names the live heralds, this one included.
	Members() []string
	// Changes fires (coalesced) when membership changes.
	Changes() <-chan struct{}
}

// hub drives the fan-out core: it loads the cache, runs the feeder when
// this herald is one, applies what the fleet broadcasts, repairs gaps from
// etcd, and serves client watch streams and serializable ranges from the
// cache. fanout.Cache is a pure state machine; mu serialises every call on
// it and is never held across I/O.
type hub struct {
	opts FanoutOptions
	name string
	kv   pb.KVClient
	wc   pb.WatchClient
	bus  Bus
	o    *offloader // translates carriers in events, when offloading is on
	log  *slog.Logger

	mu      sync.Mutex
	cache   *fanout.Cache
	streams map[*hubStream]struct{}

	// seen is the newest revision this herald has relayed to a client: a
	// watch created afterwards must not start before it (read your writes,
	// as on one etcd member).
	seen atomic.Int64

	repairKick chan struct{}
	stop       chan struct{}
	done       sync.WaitGroup
}

// noteRev records a revision relayed to a client.
func (h *hub) noteRev(rev int64) {
	for {
		cur := h.seen.Load()
		if rev <= cur || h.seen.CompareAndSwap(cur, rev) {
			return
		}
	}
}

func newHub(opts FanoutOptions, name string, kv pb.KVClient, wc pb.WatchClient, bus Bus, o *offloader, log *slog.Logger) (*hub, error) {
	cfg := fanout.DefaultConfig()
	if opts.WindowEvents > 0 {
		cfg.MaxEvents = opts.WindowEvents
	}
	if opts.WindowBytes > 0 {
		cfg.MaxBytes = opts.WindowBytes
	}
	if opts.WindowAge > 0 {
		cfg.MaxAge = opts.WindowAge
	}
	cfg.Prefixes = opts.Prefixes
	if opts.ProgressNotifyInterval > 0 {
		cfg.ProgressInterval = opts.ProgressNotifyInterval
	}
	cache, err := fanout.NewCache(cfg)
	if err != nil {
		return nil, fmt.Errorf("proxy: fan-out: %w", err)
	}
	if opts.Feeders <= 0 {
		opts.Feeders = 2
	}
	if opts.RepairDelay <= 0 {
		opts.RepairDelay = 300 * time.Millisecond
	}
	return &hub{
		opts: opts, name: name, kv: kv, wc: wc, bus: bus, o: o, log: log.With("area", "fanout"),
		cache: cache, streams: map[*hubStream]struct{}{},
		repairKick: make(chan struct{}, 1), stop: make(chan struct{}),
	}, nil
}

// start loads the cache from etcd and starts the loops.
func (h *hub) start(ctx context.Context) error {
	if err := h.reload(ctx); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() { <-h.stop; cancel() }()
	loops := []func(context.Context){h.tickLoop, h.feederLoop, h.repairLoop}
	if h.bus != nil {
		loops = append(loops, h.deliveryLoop)
	}
	for _, loop := range loops {
		h.done.Add(1)
		go func() { defer h.done.Done(); loop(bg) }()
	}
	return nil
}

func (h *hub) close() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	h.done.Wait()
}

// reload reads the fan-out prefixes at one revision and (re)loads the cache.
func (h *hub) reload(ctx context.Context) error {
	var (
		kvs    []*mvccpb.KeyValue
		rev    int64
		header *pb.ResponseHeader
	)
	for _, p := range h.opts.Prefixes {
		resp, err := h.kv.Range(internalCtx(ctx), &pb.RangeRequest{Key: []byte(p), RangeEnd: prefixEnd([]byte(p)), Revision: rev})
		if err != nil {
			return fmt.Errorf("proxy: fan-out: load %q: %w", p, err)
		}
		if rev == 0 {
			rev, header = resp.Header.Revision, resp.Header
		}
		kvs = append(kvs, resp.Kvs...)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cache.SetIdentity(header.ClusterId, header.MemberId)
	h.cache.SetRaftTerm(header.RaftTerm)
	gap, err := h.cache.Load(rev, kvs, h.cache.CompactRev())
	if err != nil {
		return fmt.Errorf("proxy: fan-out: load: %w", err)
	}
	h.wakeAllLocked()
	if gap != nil {
		h.kickRepair()
	}
	h.log.Info("fan-out cache loaded", "revision", rev, "keys", len(kvs))
	return nil
}

// apply folds one batch into the cache and wakes the streams.
func (h *hub) apply(b fanout.Batch) {
	h.mu.Lock()
	gap, err := h.cache.Apply(b)
	h.wakeAllLocked()
	h.mu.Unlock()
	fanoutBatchesTotal.Inc()
	if err != nil {
		h.log.Warn("fan-out batch refused", "prev", b.PrevRev, "rev", b.Rev, "err", err)
	}
	if gap != nil {
		h.kickRepair()
	}
}

func (h *hub) kickRepair() {
	select {
	case h.repairKick <- struct{}{}:
	default:
	}
}

// wakeAllLocked tells every stream that the cache moved.
func (h *hub) wakeAllLocked() {
	for s := range h.streams {
		s.wake()
	}
}

func (h *hub) tickLoop(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		h.mu.Lock()
		h.cache.Tick(time.Now())
		h.wakeAllLocked()
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliveryLoop applies what the fleet broadcasts.
func (h *hub) deliveryLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case payload, ok := <-h.bus.Deliveries():
			if !ok {
				return
			}
			var b fanout.Batch
			if err := b.UnmarshalBinary(payload); err != nil {
				fanoutBadBatchesTotal.Inc()
				h.log.Warn("undecodable fan-out batch", "err", err)
				continue
			}
			h.apply(b)
		}
	}
}

// repairLoop fetches from etcd the events of a gap that the broadcast tree
// did not fill within RepairDelay. A gap that etcd has compacted away is
// repaired by reloading the cache.
func (h *hub) repairLoop(ctx context.Context) {
	t := time.NewTicker(h.opts.RepairDelay)
	defer t.Stop()
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.repairKick:
		case <-t.C:
		}
		h.mu.Lock()
		gap, from := h.cache.Gap(), h.cache.Rev()+1
		h.mu.Unlock()
		if gap == nil {
			since = time.Time{}
			continue
		}
		if since.IsZero() {
			since = time.Now()
		}
		if time.Since(since) < h.opts.RepairDelay {
			continue
		}
		fanoutRepairsTotal.Inc()
		h.log.Info("repairing a fan-out gap from etcd", "from", from, "to", gap.To)
		err := h.follow(ctx, from, func(b fanout.Batch) bool {
			h.apply(b)
			return b.Rev >= gap.To
		})
		var compacted errCompacted
		if errors.As(err, &compacted) {
			h.setCompactRev(int64(compacted))
			err = h.reload(ctx)
		}
		if err != nil && ctx.Err() == nil {
			h.log.Warn("fan-out repair failed", "err", err)
		}
		since = time.Time{}
	}
}

func (h *hub) setCompactRev(rev int64) {
	h.mu.Lock()
	h.cache.SetCompactRev(rev)
	h.mu.Unlock()
}

// rangeLocal answers a serializable Range from the cache, when it can.
func (h *hub) rangeLocal(r *pb.RangeRequest) (*pb.RangeResponse, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.cache.Covers(r.Key, r.RangeEnd) {
		return nil, false
	}
	return h.cache.Range(r)
}

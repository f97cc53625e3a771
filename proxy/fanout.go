package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/fanout/feed"
)

// FanoutOptions configure the fleet watch fan-out. No prefixes turns it off.
type FanoutOptions struct {
	// Prefixes are the key prefixes whose watches and serializable reads
	// are served from the fleet's event cache.
	Prefixes []string
	// Feeders is how many heralds of the fleet hold the upstream watch (0:
	// feed.DefaultFeeders).
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
	// repair before herald fetches the missing events from etcd (0:
	// feed.DefaultRepairDelay).
	RepairDelay time.Duration
}

// Topics is the fleet's bus as herald's feeds use it: one topic per feed
// (the fan-out's is "fanout"). gossip.Bus provides it, through cmd/herald.
type Topics interface {
	Topic(name string) feed.Bus
}

// fanoutTopic is the fan-out's topic on the fleet bus.
const fanoutTopic = "fanout"

// hub serves client watch streams and serializable ranges from the fan-out
// cache; a feed.Feed keeps the cache current (loads it, feeds the fleet
// when this herald is a feeder, applies what the fleet broadcasts, repairs
// gaps). fanout.Cache is a pure state machine; mu serialises every call on
// it and is never held across I/O. The feed calls the cache through
// hubSink, which takes mu for each call.
type hub struct {
	kv      pb.KVClient
	wc      pb.WatchClient
	feed    *feed.Feed
	metrics *feed.Metrics
	o       *offloader  // translates carriers in events, when offloading is on
	ready   atomic.Bool // the cache is loaded (startup.go); until then watches and reads pass through

	mu      sync.Mutex
	cache   *fanout.Cache
	streams map[*hubStream]struct{}

	// seen is the newest revision this herald has relayed to a client: a
	// watch created afterwards must not start before it (read your writes,
	// as on one etcd member).
	seen atomic.Int64

	tickCtx  context.Context // the cache clock's; cancelled by close
	stopTick context.CancelFunc
	ticking  sync.WaitGroup
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

func newHub(opts FanoutOptions, name string, kv pb.KVClient, wc pb.WatchClient, fleet Topics, o *offloader, log *slog.Logger) (*hub, error) {
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
	h := &hub{
		kv: kv, wc: wc, metrics: fanoutFeedMetrics, o: o,
		cache: cache, streams: map[*hubStream]struct{}{},
	}
	h.tickCtx, h.stopTick = context.WithCancel(context.Background())
	var bus feed.Bus
	if fleet != nil {
		bus = fleet.Topic(fanoutTopic)
	}
	h.feed, err = feed.New(feed.Config{
		Name:        name,
		Topic:       fanoutTopic,
		Prefixes:    opts.Prefixes,
		Feeders:     opts.Feeders,
		RepairDelay: opts.RepairDelay,
		KV:          kv,
		Watch:       wc,
		Bus:         bus,
		Sink:        hubSink{h},
		Logger:      log.With("area", "fanout"),
		Metrics:     fanoutFeedMetrics,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: fan-out: %w", err)
	}
	return h, nil
}

// start loads the cache from etcd and starts the feed and the cache's clock.
// ctx is Server.Start's, herald's own and never a client's: it carries no
// client metadata, so the feed's calls need no internalCtx.
func (h *hub) start(ctx context.Context) error {
	if err := h.feed.Start(ctx); err != nil {
		return err
	}
	h.ticking.Add(1)
	go func() { defer h.ticking.Done(); h.tickLoop(h.tickCtx) }()
	return nil
}

// close stops the feed and the clock and waits for them.
func (h *hub) close() {
	h.feed.Close()
	h.stopTick()
	h.ticking.Wait()
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

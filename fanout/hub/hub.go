package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/fanout/feed"
	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/upstream"
)

// Options configure the fleet watch fan-out. No prefixes turns it off.
type Options struct {
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
	// CacheAll keeps every key and recent event of the prefixes in this
	// herald's cache. Without it the cache keeps only the ranges this
	// herald's clients watch and read (fanout.Config.OnDemand): every
	// herald receives the fleet's events either way.
	CacheAll bool
	// ProgressNotifyInterval is etcd's --watch-progress-notify-interval for
	// watches served from the cache (0: etcd's default, 10 minutes).
	ProgressNotifyInterval time.Duration
	// RepairDelay is how long a gap may wait for the broadcast tree's own
	// repair before herald fetches the missing events from etcd (0:
	// feed.DefaultRepairDelay).
	RepairDelay time.Duration
	// MaxResponseBytes is where fragmenting watches split a response:
	// etcd's --max-request-bytes plus its gRPC overhead (0: etcd's default).
	MaxResponseBytes int
}

// Topic is the fan-out's topic on the fleet bus.
const Topic = "fanout"

// Config is what a Hub is built from: what to serve (Options) and what to
// serve it with.
type Config struct {
	Options
	// Name is this herald's name in the fleet (the feeders are chosen by it).
	Name string
	// KV and Watch reach the coordinator. The hub's own calls on them
	// (the feed, catch-ups, compaction lookups) are marked
	// upstream.AsHerald: they run as herald's etcd user, if it has one.
	// Watches it forwards for a client, and the permission checks of a
	// client's watches, carry the client's metadata (upstream.Outgoing).
	KV    upstream.KV
	Watch upstream.Watches
	// Bus is the fleet bus's Topic topic; nil for a herald on its own,
	// which is then its own feeder.
	Bus feed.Bus
	// Metrics are the hub's (NewMetrics), on its herald's registry.
	Metrics *Metrics
	Logger  *slog.Logger
	// CheckPermissions checks every client watch of the fan-out prefixes
	// against etcd's permissions at its creation, as etcd does, streams
	// without an auth token too: set it when etcd may have auth on (herald
	// has an etcd user of its own). A stream that carries a token is
	// checked regardless.
	CheckPermissions bool
	// Witness, when set, holds the revision etcd reported on herald's own
	// keepalives: the feed's heartbeats are cut from it when they can
	// (feed.Config.Witness). nil: every heartbeat asks etcd for progress.
	Witness *upstream.Witness
	// Clock is the cache's clock (nil: the wall clock): its window's ages,
	// progress notifications, the tick loop's timer, a watch create's wait
	// for the cache and Stats' SinceAdvance. Tests move it instead of
	// sleeping.
	Clock clock.Clock
}

// Hub serves client watch streams and serializable ranges from the fan-out
// cache; a feed.Feed keeps the cache current (loads it, feeds the fleet
// when this herald is a feeder, applies what the fleet broadcasts, repairs
// gaps). fanout.Cache is a pure state machine; mu serialises every call on
// it and is never held across I/O. The feed calls the cache through
// sink, which takes mu for each call.
type Hub struct {
	kv       upstream.KV
	wc       upstream.Watches
	feed     *feed.Feed
	metrics  *Metrics
	log      *slog.Logger
	clock    clock.Clock
	checkAll bool        // Config.CheckPermissions
	ready    atomic.Bool // the cache is loaded (Start); until then the caller passes watches and reads through

	mu      sync.Mutex
	cache   *fanout.Cache
	streams map[*fanout.Stream]*stream // the hub's stream serving each of the cache's
	moved   chan struct{}              // closed (and replaced) whenever the cache may have moved
	armed   time.Time                  // the cache deadline the clock's timer is set for (zero: none)
	rearm   chan struct{}              // (1) the cache's next deadline may now be earlier than armed

	// seen is the newest revision this herald has relayed to a client: a
	// watch created afterwards must not start before it (read your writes,
	// as on one etcd member).
	seen atomic.Int64

	tickCtx  context.Context // the cache clock's; cancelled by Close
	stopTick context.CancelFunc
	ticking  sync.WaitGroup
	ranging  sync.WaitGroup // loadRange calls
}

// New builds a hub; Start loads it.
func New(cfg Config) (*Hub, error) {
	if cfg.KV == nil || cfg.Watch == nil || cfg.Metrics == nil {
		return nil, errors.New("hub: KV, Watch and Metrics are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opts := cfg.Options
	fc := fanout.DefaultConfig()
	if opts.WindowEvents > 0 {
		fc.MaxEvents = opts.WindowEvents
	}
	if opts.WindowBytes > 0 {
		fc.MaxBytes = opts.WindowBytes
	}
	if opts.WindowAge > 0 {
		fc.MaxAge = opts.WindowAge
	}
	fc.Prefixes = opts.Prefixes
	fc.OnDemand = !opts.CacheAll
	fc.Linger = fc.MaxAge // a range is kept as long as its events would be
	if opts.ProgressNotifyInterval > 0 {
		fc.ProgressInterval = opts.ProgressNotifyInterval
	}
	if opts.MaxResponseBytes > 0 {
		fc.MaxResponseBytes = opts.MaxResponseBytes
	}
	cache, err := fanout.NewCache(fc)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	h := &Hub{
		kv: cfg.KV, wc: cfg.Watch, metrics: cfg.Metrics, log: cfg.Logger.With("area", "fanout"), clock: clock.Or(cfg.Clock),
		checkAll: cfg.CheckPermissions,
		cache:    cache, streams: map[*fanout.Stream]*stream{}, moved: make(chan struct{}),
		rearm: make(chan struct{}, 1),
	}
	h.tickCtx, h.stopTick = context.WithCancel(context.Background())
	h.feed, err = feed.New(feed.Config{
		Name:        cfg.Name,
		Topic:       Topic,
		Prefixes:    opts.Prefixes,
		Feeders:     opts.Feeders,
		RepairDelay: opts.RepairDelay,
		KV:          cfg.KV,
		Watch:       cfg.Watch,
		Bus:         cfg.Bus,
		Sink:        sink{h},
		Logger:      h.log,
		Metrics:     cfg.Metrics.Feed,
		Witness:     cfg.Witness,
	})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	return h, nil
}

// Start loads the cache from etcd and starts the feed and the cache's
// clock; once it succeeds the hub is Ready. Until then the caller passes
// watches and serializable reads through to etcd, and may call Start again.
// ctx is herald's own, never a client's; the feed's calls are marked
// upstream.AsHerald.
func (h *Hub) Start(ctx context.Context) error {
	if err := h.feed.Start(upstream.AsHerald(ctx)); err != nil {
		return err
	}
	h.ticking.Add(1)
	go func() { defer h.ticking.Done(); h.tickLoop(h.tickCtx) }()
	h.ready.Store(true)
	return nil
}

// TryStart is Start for the background start (internal/startup): it
// starts the hub unless it is Ready, logs the outcome, and reports
// whether the hub is Ready now.
func (h *Hub) TryStart(ctx context.Context) bool {
	if h.Ready() {
		return true
	}
	if err := h.Start(ctx); err != nil {
		h.log.Warn("fan-out cache cannot load yet; watches pass through to etcd while herald retries", "err", err)
		return false
	}
	h.log.Info("fan-out is up: watches of the fan-out prefixes are served from the cache")
	return true
}

// Ready reports whether Start has loaded the cache. It does not block.
func (h *Hub) Ready() bool { return h.ready.Load() }

// Close stops the feed and the clock and waits for them. Client streams
// that Serve still runs end with their clients.
func (h *Hub) Close() {
	h.feed.Close()
	h.mu.Lock()
	h.stopTick()
	h.mu.Unlock()
	h.ticking.Wait()
	h.ranging.Wait()
}

// Reconnect tells the feed to reopen its upstream streams (the upstream
// path changed). It does not block.
func (h *Hub) Reconnect() { h.feed.Reconnect() }

// NoteRev records a revision relayed to a client. It does not block.
func (h *Hub) NoteRev(rev int64) {
	for {
		cur := h.seen.Load()
		if rev <= cur || h.seen.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// SetCompactRev records etcd's compact revision (a Compact went through).
func (h *Hub) SetCompactRev(rev int64) {
	h.mu.Lock()
	h.cache.SetCompactRev(rev)
	h.mu.Unlock()
}

// RangeLocal answers a serializable Range from the cache when the cache
// covers its range and has reached every revision this herald has shown
// its clients, so that a client reads its own writes as from one etcd
// member (false: ask etcd). It does not block on I/O. Answers show carrier
// leases as etcd stores them: translating them is the caller's.
func (h *Hub) RangeLocal(r *pb.RangeRequest) (*pb.RangeResponse, bool) {
	seen := h.seen.Load()
	h.mu.Lock()
	if !h.cache.ServesRange(r.Key, r.RangeEnd) || h.cache.Rev() < seen {
		var wants []fanout.RangeRequest
		if h.tickCtx.Err() == nil { // not closed: Close cancels it under mu
			wants = h.cache.Wants()
			h.ranging.Add(len(wants))
		}
		h.mu.Unlock()
		for _, w := range wants {
			go h.loadRange(w)
		}
		return nil, false
	}
	resp, ok := h.cache.Range(r)
	h.mu.Unlock()
	if ok {
		h.metrics.LocalReads.Inc()
	}
	return resp, ok
}

// tickLocked brings the cache's clock to now. The clock loop ticks only at
// the cache's deadlines, so every input that stamps the time (an Apply's
// window entry, a new stream's progress ticker) ticks first: otherwise it
// would count from the last deadline, minutes ago on an idle hub.
func (h *Hub) tickLocked() { h.cache.Tick(h.clock.Now()) }

// wakeReadyLocked tells the streams that have output (the cache's
// ReadyStreams), and every watch create waiting for a revision
// (prepareCreate), that the cache moved; idle streams sleep on.
func (h *Hub) wakeReadyLocked() {
	for _, cs := range h.cache.ReadyStreams() {
		if s := h.streams[cs]; s != nil {
			s.wake()
		}
	}
	close(h.moved)
	h.moved = make(chan struct{})
	h.rearmLocked()
}

// rearmLocked wakes the clock loop if the cache's next deadline is now
// earlier than the one its timer is set for. It does not block.
func (h *Hub) rearmLocked() {
	next, ok := h.cache.NextDeadline()
	if !ok || (!h.armed.IsZero() && !next.Before(h.armed)) {
		return
	}
	select {
	case h.rearm <- struct{}{}:
	default:
	}
}

// tickLoop is the cache's clock, as gossip/loop.go's deadlineTimer is the
// broadcast tree's: it sleeps until the cache's next deadline (or until an
// input brought it closer), ticks, and wakes the streams that then have
// output — none, on an idle hub without progress notifications due.
func (h *Hub) tickLoop(ctx context.Context) {
	fire, stop := h.clock.NewTimer(0)
	for {
		select {
		case <-ctx.Done():
			stop()
			return
		case <-fire:
		case <-h.rearm:
		}
		stop()
		h.mu.Lock()
		h.tickLocked()
		h.wakeReadyLocked()
		next, ok := h.cache.NextDeadline()
		h.armed = time.Time{}
		if ok {
			h.armed = next
		}
		h.mu.Unlock()
		// A deadline is always after the tick that computed it (Tick
		// consumes every deadline up to now), so the loop cannot spin.
		fire = nil
		if ok {
			fire, stop = h.clock.NewTimer(next.Sub(h.clock.Now()))
		}
	}
}

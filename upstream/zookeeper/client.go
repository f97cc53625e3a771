package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Config says how to reach the ensemble.
type Config struct {
	// URL is zk://host:port[,host:port...][/chroot] (ParseURL).
	URL string
	// SessionTimeout is the ZooKeeper session's timeout (default 10 s).
	// herald keeps no ephemeral znodes, so a lost session costs only
	// re-armed watches, never keys.
	SessionTimeout time.Duration
	// MaxDataBytes bounds one key's znode data (value plus a lease header
	// of up to 9 bytes) and so a request's values: ZooKeeper drops the
	// connection of a client that sends more than its jute.maxbuffer
	// (1 MiB by default). Default 1,000,000.
	MaxDataBytes int
	// MaxTxnOps is the most operations a txn may hold (etcd's
	// --max-txn-ops, default 128).
	MaxTxnOps int
	// LeaseSweepInterval is how often this client looks for expired
	// leases (lease_sweep.go; default 500 ms, jittered ±50%).
	LeaseSweepInterval time.Duration
	// WatchHistory is how many recent events the Client keeps for watches
	// (default 100,000): a watch from an older revision is cancelled as
	// compacted (doc.go, "Watch history").
	WatchHistory int
	// WatchProgressInterval is how often a progress_notify watch that got
	// no event hears the revision (etcd's 10 min by default, plus up to
	// 10% jitter, as etcd).
	WatchProgressInterval time.Duration
	// WatchFragmentBytes is where the response of a watch created with
	// fragment is split (default etcd's: 1.5 MiB + 512 KiB).
	WatchFragmentBytes int
	Logger             *slog.Logger
}

// Client serves etcd's KV and watches from one ZooKeeper session. It is
// safe for concurrent use; Close ends it.
type Client struct {
	conn   *zk.Conn
	events <-chan zk.Event // closed when conn's goroutines have ended
	paths  layout
	cfg    Config
	log    *slog.Logger
	router *router
	target Target
	hist   *history // the watch window (history.go)

	clusterID uint64
	seenRev   atomic.Int64 // the newest revision read or written
	ttls      sync.Map     // lease ID → granted TTL (int64): it never changes
	clock     serverClock

	// life ends at Close; goroutines are the client's own (the lease
	// sweeper, keepalive streams), waited for by Close.
	life       context.Context
	stop       context.CancelFunc
	closing    <-chan struct{}
	goroutines sync.WaitGroup
	closeOnce  sync.Once
}

// layout names herald's znodes under the chroot.
type layout struct {
	base   string // <chroot>/herald
	kv     string // the key tree (keys.go)
	rev    string // the revision znode: every write sets it (revision.go)
	leases string // a znode per lease, its keys as children (lease.go)
	alive  string // a znode per lease, renewed by each keepalive
	clock  string // written to read the leader's clock (lease_sweep.go)
}

func newLayout(chroot string) layout {
	base := chroot + "/herald"
	return layout{base: base, kv: base + "/kv", rev: base + "/rev", leases: base + "/leases", alive: base + "/alive", clock: base + "/clock"}
}

const (
	defaultSessionTimeout = 10 * time.Second
	defaultMaxDataBytes   = 1_000_000
	defaultMaxTxnOps      = 128
	defaultSweepInterval  = 500 * time.Millisecond
)

// Dial connects to the ensemble, waits for a session (or ctx), and creates
// herald's znodes under the chroot if they are missing.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	target, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = defaultSessionTimeout
	}
	if cfg.MaxDataBytes <= 0 {
		cfg.MaxDataBytes = defaultMaxDataBytes
	}
	if cfg.MaxTxnOps <= 0 {
		cfg.MaxTxnOps = defaultMaxTxnOps
	}
	if cfg.LeaseSweepInterval <= 0 {
		cfg.LeaseSweepInterval = defaultSweepInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{paths: newLayout(target.Chroot), cfg: cfg, log: cfg.Logger, router: newRouter(),
		target: target, clusterID: clusterIDOf(target)}
	c.life, c.stop = context.WithCancel(context.Background())
	c.closing = c.life.Done()
	conn, events, err := zk.Connect(target.Servers, cfg.SessionTimeout,
		zk.WithLogger(zkLogger{cfg.Logger}), zk.WithLogInfo(false),
		// The router sees every watch notification in the order the
		// server sent it, before any later reply (follower.go relies on it).
		zk.WithEventCallback(c.router.deliver))
	if err != nil {
		return nil, fmt.Errorf("zookeeper: connect %s: %w", cfg.URL, err)
	}
	c.conn, c.events = conn, events
	if err := c.awaitSession(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.ensureLayout(); err != nil {
		c.Close()
		return nil, err
	}
	c.goroutines.Add(1)
	go c.sweepLoop()
	if err := c.startHistory(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) awaitSession(ctx context.Context) error {
	for {
		if c.conn.State() == zk.StateHasSession {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("zookeeper: no session with %s: %w", c.cfg.URL, ctx.Err())
		case _, ok := <-c.events:
			if !ok {
				return fmt.Errorf("zookeeper: connection to %s closed", c.cfg.URL)
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ensureLayout creates the chroot, herald's base, the key tree's root and
// the revision znode, each only if absent (another herald may race).
func (c *Client) ensureLayout() error {
	var p string
	for _, name := range strings.Split(strings.TrimPrefix(c.paths.kv, "/"), "/") {
		p += "/" + name
		if err := c.createIfAbsent(p); err != nil {
			return err
		}
	}
	for _, p := range []string{c.paths.rev, c.paths.leases, c.paths.alive, c.paths.clock} {
		if err := c.createIfAbsent(p); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) createIfAbsent(path string) error {
	_, err := c.conn.Create(path, nil, 0, zk.WorldACL(zk.PermAll))
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("zookeeper: create %s: %w", path, err)
	}
	return nil
}

// Close ends the session and waits for go-zookeeper's goroutines. Calls in
// flight fail; followers end with an error.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.stop()
		if c.hist != nil {
			c.hist.close()
		}
		c.conn.Close()
		for range c.events {
		}
		c.goroutines.Wait()
		c.router.close()
	})
	return nil
}

// zkLogger sends go-zookeeper's log lines (reconnects, mostly) to slog.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Info("zookeeper: " + fmt.Sprintf(format, args...))
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"golang.org/x/sync/errgroup"
)

// The ZooKeeper benchmark's baseline is ZooKeeper used natively, as
// service discovery on it is usually built: each node an ephemeral znode
// kept by its own session, each watcher a session that lists the nodes'
// directory with a child watch and lists it again each time the watch
// fires. It is the only code outside upstream/ that imports go-zookeeper
// (tests/layers allows it here).

// zkQuiet drops go-zookeeper's log lines.
var zkQuiet = zk.WithLogger(log.New(io.Discard, "", 0))

// zkNodes is a rack of native nodes: one session and one ephemeral znode
// each.
type zkNodes struct {
	conns []*zk.Conn
}

// zkNodeName is node i's znode name.
func zkNodeName(i int) string { return fmt.Sprintf("n%06d", i) }

// dialZKNodes opens n sessions to server with the given timeout, each
// creating dir/zkNodeName(first+i) as an ephemeral znode, parallel at a
// time.
func dialZKNodes(ctx context.Context, server, dir string, first, n int, timeout time.Duration, parallel int) (*zkNodes, error) {
	nodes := &zkNodes{conns: make([]*zk.Conn, n)}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i := range n {
		g.Go(func() error {
			conn, err := connectZK(ctx, server, timeout)
			if err != nil {
				return err
			}
			nodes.conns[i] = conn
			_, err = conn.Create(dir+"/"+zkNodeName(first+i), nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		nodes.close()
		return nil, err
	}
	return nodes, nil
}

// connectZK opens a session and waits for it.
func connectZK(ctx context.Context, server string, timeout time.Duration) (*zk.Conn, error) {
	conn, events, err := zk.Connect([]string{server}, timeout, zkQuiet, zk.WithLogInfo(false))
	if err != nil {
		return nil, err
	}
	for conn.State() != zk.StateHasSession {
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		case <-events:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return conn, nil
}

func (n *zkNodes) close() {
	var wg sync.WaitGroup
	for _, c := range n.conns {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
	}
	wg.Wait()
}

// zkChildWatcher lists a directory with a child watch, again each time the
// watch fires, and records when each child was first seen gone or new.
type zkChildWatcher struct {
	conn *zk.Conn
	dir  string

	mu      sync.Mutex
	known   map[string]bool
	gone    map[string]time.Time
	added   map[string]time.Time
	relists int
}

func newZKChildWatcher(conn *zk.Conn, dir string) *zkChildWatcher {
	return &zkChildWatcher{conn: conn, dir: dir, gone: map[string]time.Time{}, added: map[string]time.Time{}}
}

// run watches until ctx ends; ready is closed after the first listing.
func (w *zkChildWatcher) run(ctx context.Context, ready chan<- struct{}) error {
	first := true
	for {
		names, _, ch, err := w.conn.ChildrenW(w.dir)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, zk.ErrClosing) || errors.Is(err, zk.ErrConnectionClosed) {
				return nil
			}
			return err
		}
		now := time.Now()
		w.mu.Lock()
		w.relists++
		seen := make(map[string]bool, len(names))
		for _, name := range names {
			seen[name] = true
			if w.known != nil && !w.known[name] {
				if _, ok := w.added[name]; !ok {
					w.added[name] = now
				}
			}
		}
		for name := range w.known {
			if !seen[name] {
				if _, ok := w.gone[name]; !ok {
					w.gone[name] = now
				}
			}
		}
		w.known = seen
		w.mu.Unlock()
		if first {
			close(ready)
			first = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		}
	}
}

// goneAt is when the watcher saw name go (zero if not yet).
func (w *zkChildWatcher) goneAt(name string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gone[name]
}

// addedAt is when the watcher saw name come (zero if not yet).
func (w *zkChildWatcher) addedAt(name string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.added[name]
}

// zkMntrDelta reads mntr figures before and after: the difference of each.
type zkMntrDelta struct{ before, after map[string]float64 }

func (d zkMntrDelta) of(name string) float64 { return d.after[name] - d.before[name] }

// The ZooKeeper benchmark's knobs (zookeeper_bench_test.go).
const (
	zkNodesEnv    = "HERALD_BENCH_ZK_NODES"    // nodes (sessions or leases)
	zkWatchersEnv = "HERALD_BENCH_ZK_WATCHERS" // watchers of the nodes' directory
	zkConnsEnv    = "HERALD_BENCH_ZK_CONNS"    // herald path: the nodes' client connections
	zkTTLEnv      = "HERALD_BENCH_ZK_TTL"      // the sessions' timeout and the leases' TTL
)

var zkKnobs = []string{zkNodesEnv, zkWatchersEnv, zkConnsEnv, zkTTLEnv}

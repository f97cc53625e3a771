package zookeeper

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// ZooKeeper has no lease of its own that outlives a session, so every
// herald sweeps: it lists the leases' renewal znodes and revokes each
// lease whose last renewal (the znode's mtime, the ZooKeeper leader's
// clock) is more than its TTL behind the leader's clock now. A lease left
// half revoked (its revoker died) is finished too. One herald alive is
// enough for every lease to expire; with none, leases wait for the next.

// sweepLoop runs until Close.
func (c *Client) sweepLoop() {
	defer c.goroutines.Done()
	for {
		// Jitter spreads the fleet's sweeps.
		wait := c.cfg.LeaseSweepInterval/2 + rand.N(c.cfg.LeaseSweepInterval)
		select {
		case <-c.closing:
			return
		case <-time.After(wait):
		}
		if err := c.sweep(c.life); err != nil && c.life.Err() == nil {
			c.log.Debug("zookeeper: lease sweep", "err", err)
		}
	}
}

// revokingGrace is how long a revoke may run before sweepers finish it:
// its revoker is then taken for dead.
const revokingGrace = 10 * time.Second

func (c *Client) sweep(ctx context.Context) error {
	names, _, err := c.conn.Children(c.paths.alive)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	now, err := c.serverNow()
	if err != nil {
		return err
	}
	for _, name := range names {
		id, err := parseLeaseName(name)
		if err != nil {
			continue
		}
		if err := c.sweepOne(ctx, id, now); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
	}
	return nil
}

func (c *Client) sweepOne(ctx context.Context, id, now int64) error {
	ttl, cached := c.cachedTTL(id)
	if !cached {
		data, st, err := c.conn.Get(c.leasePath(id))
		if err != nil {
			return err
		}
		if ttl, err = decodeLeaseData(data); err != nil {
			return err
		}
		if st.Version >= leaseRevoking {
			if now-st.Mtime > revokingGrace.Milliseconds() {
				return c.revoke(ctx, id)
			}
			return nil
		}
		c.ttls.Store(id, ttl)
	}
	ok, st, err := c.conn.Exists(c.alivePath(id))
	if err != nil || !ok {
		return err
	}
	if now-st.Mtime <= ttl*1000 {
		return nil
	}
	c.log.Debug("zookeeper: lease expired", "lease", id, "ttl", ttl, "late_ms", now-st.Mtime-ttl*1000)
	err = c.revoke(ctx, id)
	if err != nil && errors.Is(err, rpctypes.ErrGRPCLeaseNotFound) {
		return nil
	}
	return err
}

// serverClock estimates the ZooKeeper leader's clock (milliseconds, as in
// a znode's mtime) from the mtimes of herald's own recent writes.
type serverClock struct {
	mu      sync.Mutex
	offset  int64     // leader's ms − local ms, at the last write seen
	learned time.Time // zero until a write was seen
}

// clockFresh is how long a learned offset is trusted.
const clockFresh = 5 * time.Second

func (k *serverClock) learn(mtime int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	k.offset, k.learned = mtime-now.UnixMilli(), now
}

func (k *serverClock) estimate() (int64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	if k.learned.IsZero() || now.Sub(k.learned) > clockFresh {
		return 0, false
	}
	return now.UnixMilli() + k.offset, true
}

// serverNow is the leader's clock now: estimated from a recent write, or
// read by writing the clock znode.
func (c *Client) serverNow() (int64, error) {
	if now, ok := c.clock.estimate(); ok {
		return now, nil
	}
	st, err := c.conn.Set(c.paths.clock, nil, -1)
	if err != nil {
		return 0, err
	}
	c.clock.learn(st.Mtime)
	return st.Mtime, nil
}

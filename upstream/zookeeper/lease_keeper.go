package zookeeper

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/go-zookeeper/zk"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/upstream"
)

// keeper is one keepalive stream: its goroutine renews the leases asked
// for, in order, and queues the answers for Recv.
type keeper struct {
	c    *Client
	ctx  context.Context
	ids  chan int64
	out  chan *pb.LeaseKeepAliveResponse
	err  error // why out was closed; written before the close
	once sync.Once
}

// keeperQueue bounds the renewals asked for and not yet made (KeepAlive
// then blocks, as a gRPC stream's Send does under flow control).
const keeperQueue = 1024

// KeepAlive opens a keepalive stream; it ends with ctx, CloseSend (io.EOF
// once every answer is in) or Close.
func (c *Client) KeepAlive(ctx context.Context) (upstream.Keeper, error) {
	k := &keeper{c: c, ctx: ctx, ids: make(chan int64, keeperQueue), out: make(chan *pb.LeaseKeepAliveResponse, keeperQueue)}
	c.goroutines.Add(1)
	go func() {
		defer c.goroutines.Done()
		k.run()
	}()
	return k, nil
}

func (k *keeper) run() {
	defer close(k.out)
	for {
		var id int64
		select {
		case <-k.ctx.Done():
			k.err = status.FromContextError(k.ctx.Err()).Err()
			return
		case <-k.c.closing:
			k.err = grpcError(k.ctx, "lease keepalive", zk.ErrClosing)
			return
		case next, ok := <-k.ids:
			if !ok {
				k.err = io.EOF
				return
			}
			id = next
		}
		ttl, err := k.c.renew(k.ctx, id)
		if err != nil {
			k.err = grpcError(k.ctx, "lease keepalive", err)
			return
		}
		select {
		case k.out <- &pb.LeaseKeepAliveResponse{Header: k.c.header(), ID: id, TTL: ttl}:
		case <-k.ctx.Done():
		case <-k.c.closing:
		}
	}
}

func (k *keeper) KeepAlive(id int64) error {
	select {
	case k.ids <- id:
		return nil
	case <-k.ctx.Done():
		return status.FromContextError(k.ctx.Err()).Err()
	case <-k.c.closing:
		return grpcError(k.ctx, "lease keepalive", zk.ErrClosing)
	}
}

func (k *keeper) Recv() (*pb.LeaseKeepAliveResponse, error) {
	r, ok := <-k.out
	if !ok {
		return nil, k.err
	}
	return r, nil
}

func (k *keeper) CloseSend() error {
	k.once.Do(func() { close(k.ids) })
	return nil
}

// renew renews a lease, answering its TTL, or 0 when the lease does not
// live: gone, being revoked, or expired before this renewal came (then
// the renewal starts its revoke, as the sweeper would have). The multi
// checks that no revoke has begun and that the last renewal is the one
// read, whose mtime says whether the lease was still alive.
func (c *Client) renew(ctx context.Context, id int64) (int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		ttl, cached := c.cachedTTL(id)
		if !cached {
			var live bool
			var err error
			if ttl, live, err = c.leaseTTL(id); err != nil || !live {
				return 0, err
			}
		}
		ok, st, err := c.conn.Exists(c.alivePath(id))
		if err != nil || !ok {
			return 0, err
		}
		res, err := c.conn.Multi(
			&zk.CheckVersionRequest{Path: c.leasePath(id), Version: 0},
			&zk.SetDataRequest{Path: c.alivePath(id), Version: st.Version},
		)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return 0, nil
		case errors.Is(err, zk.ErrBadVersion):
			// A revoke began (leaseTTL will say), or another renewal
			// came between: read again.
			c.ttls.Delete(id)
			continue
		case err != nil:
			return 0, err
		case len(res) < 2 || res[1].Stat == nil:
			return 0, errMultiShape
		}
		renewed := res[1].Stat.Mtime
		c.clock.learn(renewed)
		if renewed-st.Mtime > ttl*1000 {
			if err := c.revoke(ctx, id); err != nil && !errors.Is(err, rpctypes.ErrGRPCLeaseNotFound) {
				c.log.Info("zookeeper: revoking a lease renewed too late", "lease", id, "err", err)
			}
			return 0, nil
		}
		return ttl, nil
	}
}

func (c *Client) cachedTTL(id int64) (int64, bool) {
	v, ok := c.ttls.Load(id)
	if !ok {
		return 0, false
	}
	return v.(int64), true
}

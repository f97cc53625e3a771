package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// keepAliveTick is how often a connection looks for leases that are due. A
// lease is kept alive every TTL/3 as clientv3 does; the tick only adds up to
// this much to each interval.
const keepAliveTick = 100 * time.Millisecond

// keepAliveCounters are what a fleet has done, for rates over a window.
type keepAliveCounters struct {
	sent       atomic.Int64 // LeaseKeepAliveRequests sent
	answered   atomic.Int64 // responses with TTL > 0
	lost       atomic.Int64 // leases answered with TTL ≤ 0: expired or unknown
	streamErrs atomic.Int64 // streams that ended with an error (and were reopened)

	mu             sync.Mutex
	firstStreamErr error
	firstLoss      time.Time // when the first lease was answered TTL ≤ 0
}

// firstLossTime is when the first lease was lost (zero if none was).
func (c *keepAliveCounters) firstLossTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstLoss
}

// firstStreamError is the first error a stream ended with, if any.
func (c *keepAliveCounters) firstStreamError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstStreamErr
}

// keepAliveFleet keeps leases alive over a number of client connections, each
// its own gRPC connection (its own TCP connection) with one LeaseKeepAlive
// stream, as that many separate clientv3 clients would. Each lease gets a
// keepalive when it is granted, a second one a random part of TTL/3 later
// (which spreads the leases' phases) and then one every TTL/3, whatever the
// answers: the offered load is the same on every path.
type keepAliveFleet struct {
	ttl      time.Duration
	conns    []*keepAliveConn
	counters keepAliveCounters
	// mark is a reference instant (UnixNano; 0: none) from which each
	// lease's first answer is recorded (keptLease.firstAfterMark).
	mark atomic.Int64

	sendCtx    context.Context
	stopSend   context.CancelFunc
	senders    sync.WaitGroup
	streamsCtx context.Context
	endStreams context.CancelFunc
	receivers  sync.WaitGroup
}

// keepAliveConn is one client connection of a fleet. A connection that
// lists several endpoints (a client configured with several) uses the first
// and moves to the next in turn when its stream fails.
type keepAliveConn struct {
	targets []string           // the endpoints the client lists (host:port)
	conns   []*grpc.ClientConn // one per target

	mu       sync.Mutex
	cur      int                           // the endpoint in use: index into conns
	stream   pb.Lease_LeaseKeepAliveClient // replaced when it fails
	leases   []keptLease
	index    map[int64]int // lease ID → position in leases
	lastSend time.Time     // when the last keepalive left
}

type keptLease struct {
	id       int64
	next     time.Time // when the next keepalive is due
	started  bool      // the first keepalive has been sent
	lost     bool      // answered TTL ≤ 0: no more keepalives
	lostAt   time.Time // when
	stopped  bool      // stopped on purpose (stopLeases): no more keepalives
	lastSent time.Time // when its last keepalive left
	// maxSendGap is the longest time between two of its keepalives
	// leaving: above TTL, the load generator itself let the lease lapse.
	maxSendGap time.Duration

	answered       time.Time     // the last answer with TTL > 0
	maxSilence     time.Duration // the longest time between two answers with TTL > 0
	firstAfterMark time.Time     // the first answer with TTL > 0 after the fleet's mark
}

// dialFleet opens n connections, each with its LeaseKeepAlive stream open
// (carrying clientv3's require-leader metadata, as clientv3's lessor does),
// and starts their send and receive loops. Connection i lists the endpoints
// endpoints[i mod len(endpoints)] and starts on the first of them; when its
// stream fails it reopens it on the next, the others being taken in an order
// rotated by i, so that connections that fail over spread over them as
// clientv3's balancer would spread its clients.
func dialFleet(endpoints [][]string, n int, ttl time.Duration) (*keepAliveFleet, error) {
	return dialFleetAs(endpoints, n, ttl, "")
}

// dialFleetAs is dialFleet with an etcd token on every call ("": none).
func dialFleetAs(endpoints [][]string, n int, ttl time.Duration, token string) (*keepAliveFleet, error) {
	f := &keepAliveFleet{ttl: ttl}
	f.sendCtx, f.stopSend = context.WithCancel(context.Background())
	f.streamsCtx, f.endStreams = context.WithCancel(clientv3.WithRequireLeader(context.Background()))
	f.conns = make([]*keepAliveConn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		eps := endpoints[i%len(endpoints)]
		order := []string{hostPort(eps[0])}
		for j := range len(eps) - 1 {
			order = append(order, hostPort(eps[1+(i+j)%(len(eps)-1)]))
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f.conns[i], errs[i] = dialKeepAliveConn(f.streamsCtx, order, token)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		f.close()
		return nil, err
	}
	for _, c := range f.conns {
		f.senders.Add(1)
		go func() { defer f.senders.Done(); f.sendLoop(c) }()
		f.receivers.Add(1)
		go func() { defer f.receivers.Done(); f.recvLoop(c) }()
	}
	return f, nil
}

// dialKeepAliveConn dials every target (gRPC connects lazily) and opens the
// stream on the first; every call carries token, if any.
func dialKeepAliveConn(ctx context.Context, targets []string, token string) (*keepAliveConn, error) {
	c := &keepAliveConn{targets: targets, index: map[int64]int{}}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(tokenCreds(token)))
	}
	for _, target := range targets {
		conn, err := grpc.NewClient(target, opts...)
		if err != nil {
			c.closeConns()
			return nil, fmt.Errorf("bench: dial %s: %w", target, err)
		}
		c.conns = append(c.conns, conn)
	}
	stream, err := openStream(ctx, pb.NewLeaseClient(c.conns[0]))
	if err != nil {
		c.closeConns()
		return nil, fmt.Errorf("bench: LeaseKeepAlive stream to %s: %w", targets[0], err)
	}
	c.stream = stream
	return c, nil
}

func (c *keepAliveConn) closeConns() {
	for _, conn := range c.conns {
		conn.Close()
	}
}

// current is the connection to the endpoint in use.
func (c *keepAliveConn) current() *grpc.ClientConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns[c.cur]
}

// openStreamTimeout bounds the opening of a LeaseKeepAlive stream.
const openStreamTimeout = 30 * time.Second

// openStream opens the stream on ctx (it lives as long as the fleet), but
// gives up after openStreamTimeout (the server never answers).
func openStream(ctx context.Context, lc pb.LeaseClient) (pb.Lease_LeaseKeepAliveClient, error) {
	openCtx, cancel := context.WithTimeout(ctx, openStreamTimeout)
	defer cancel()
	type result struct {
		s   pb.Lease_LeaseKeepAliveClient
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := lc.LeaseKeepAlive(ctx, grpc.WaitForReady(true))
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-openCtx.Done():
		return nil, openCtx.Err()
	}
}

// grantResult is what a grant phase achieved: etcd may refuse or time out
// grants when it is overloaded, and that is a result, not a failure of the
// benchmark.
type grantResult struct {
	ids      []int64 // by lease index; 0 where the grant failed
	granted  int
	failed   int
	firstErr error
}

// grant grants total leases with f's TTL, spread round-robin over the
// connections (each granted over the connection that keeps it alive), at
// most parallel at a time, each within grantTimeout. Every lease is kept
// alive from the moment it is granted. Grants still waiting when ctx ends
// count as failed.
func (f *keepAliveFleet) grant(ctx context.Context, total, parallel int) grantResult {
	r := grantResult{ids: make([]int64, total)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	ttlSeconds := int64(f.ttl / time.Second)
	for i := range total {
		c := f.conns[i%len(f.conns)]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			gctx, cancel := context.WithTimeout(ctx, grantTimeout)
			defer cancel()
			resp, err := pb.NewLeaseClient(c.current()).LeaseGrant(gctx, &pb.LeaseGrantRequest{TTL: ttlSeconds})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.failed++
				if r.firstErr == nil {
					r.firstErr = fmt.Errorf("bench: LeaseGrant %d of %d: %w", i+1, total, err)
				}
				return
			}
			r.ids[i] = resp.ID
			r.granted++
			c.add(resp.ID)
		})
	}
	wg.Wait()
	return r
}

// grantTimeout bounds one LeaseGrant (etcd's own request timeout is 7 s at
// its defaults).
const grantTimeout = 10 * time.Second

// add starts keeping lease id alive, with a first keepalive right away (as
// clientv3's KeepAlive does).
func (c *keepAliveConn) add(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.index[id] = len(c.leases)
	c.leases = append(c.leases, keptLease{id: id, next: time.Now()})
}

func (f *keepAliveFleet) sendLoop(c *keepAliveConn) {
	tick := time.NewTicker(keepAliveTick)
	defer tick.Stop()
	type dueLease struct {
		pos int // in c.leases
		id  int64
	}
	var due []dueLease
	for {
		select {
		case <-f.sendCtx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		due = due[:0]
		c.mu.Lock()
		stream := c.stream
		for i := range c.leases {
			l := &c.leases[i]
			if !l.lost && !l.stopped && !l.next.After(now) {
				due = append(due, dueLease{i, l.id})
				l.next = now.Add(f.nextInterval(l))
				l.started = true
			}
		}
		c.mu.Unlock()
		for _, d := range due {
			if f.sendCtx.Err() != nil {
				return
			}
			if err := stream.Send(&pb.LeaseKeepAliveRequest{ID: d.id}); err != nil {
				// The receive loop sees the stream's end and opens another;
				// these leases go out on it next period.
				break
			}
			sent := time.Now()
			f.counters.sent.Add(1)
			c.mu.Lock()
			c.lastSend = sent
			l := &c.leases[d.pos]
			if !l.lastSent.IsZero() {
				l.maxSendGap = max(l.maxSendGap, sent.Sub(l.lastSent))
			}
			l.lastSent = sent
			c.mu.Unlock()
		}
	}
}

// nextInterval is TTL/3, except after a lease's first keepalive: then a
// uniformly random part of it, so that the leases' keepalives are spread over
// the period as those of nodes started at different times are, rather than
// bunched by the order of the grants.
func (f *keepAliveFleet) nextInterval(l *keptLease) time.Duration {
	period := f.ttl / 3
	if l.started {
		return period
	}
	return time.Duration(rand.Int64N(int64(period))) + 1
}

// retryStreamWait is how long clientv3's lessor waits before it reopens a
// LeaseKeepAlive stream that failed; the fleet does the same.
const retryStreamWait = 500 * time.Millisecond

func (f *keepAliveFleet) recvLoop(c *keepAliveConn) {
	c.mu.Lock()
	stream := c.stream
	c.mu.Unlock()
	for {
		resp, err := stream.Recv()
		if err != nil {
			if f.streamsCtx.Err() != nil {
				return
			}
			f.counters.recordStreamErr(err)
			if stream = f.reopen(c); stream == nil {
				return
			}
			continue
		}
		if resp.TTL > 0 {
			f.counters.answered.Add(1)
			f.recordAnswer(c, resp.ID)
			continue
		}
		c.mu.Lock()
		if i, ok := c.index[resp.ID]; ok && !c.leases[i].lost {
			c.leases[i].lost, c.leases[i].lostAt = true, time.Now()
			if f.counters.lost.Add(1) == 1 {
				f.counters.mu.Lock()
				f.counters.firstLoss = time.Now()
				f.counters.mu.Unlock()
			}
		}
		c.mu.Unlock()
	}
}

// recordAnswer notes an answer with TTL > 0 for lease id: when it came, the
// longest silence so far, and the first answer after the fleet's mark.
func (f *keepAliveFleet) recordAnswer(c *keepAliveConn, id int64) {
	now := time.Now()
	mark := f.mark.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[id]
	if !ok {
		return
	}
	l := &c.leases[i]
	if !l.answered.IsZero() {
		l.maxSilence = max(l.maxSilence, now.Sub(l.answered))
	}
	l.answered = now
	if mark != 0 && l.firstAfterMark.IsZero() && now.UnixNano() > mark {
		l.firstAfterMark = now
	}
}

// reopen opens a new stream for c after retryStreamWait, on the next
// endpoint c lists (the same one if it lists one), retrying until it
// succeeds or the fleet closes (then it returns nil).
func (f *keepAliveFleet) reopen(c *keepAliveConn) pb.Lease_LeaseKeepAliveClient {
	for {
		select {
		case <-f.streamsCtx.Done():
			return nil
		case <-time.After(retryStreamWait):
		}
		c.mu.Lock()
		c.cur = (c.cur + 1) % len(c.conns)
		lc := pb.NewLeaseClient(c.conns[c.cur])
		c.mu.Unlock()
		s, err := openStream(f.streamsCtx, lc)
		if err == nil {
			c.mu.Lock()
			c.stream = s
			c.mu.Unlock()
			return s
		}
		if f.streamsCtx.Err() != nil {
			return nil
		}
		f.counters.recordStreamErr(err)
	}
}

func (c *keepAliveCounters) recordStreamErr(err error) {
	c.streamErrs.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.firstStreamErr == nil {
		c.firstStreamErr = err
	}
}

// stopKeepAlives stops every connection from sending, at once, and returns
// the instant the last keepalive was sent. Streams stay open (answers in
// flight are still read) until close.
func (f *keepAliveFleet) stopKeepAlives() time.Time {
	f.stopSend()
	f.senders.Wait()
	var last time.Time
	for _, c := range f.conns {
		c.mu.Lock()
		if c.lastSend.After(last) {
			last = c.lastSend
		}
		c.mu.Unlock()
	}
	return last
}

// close stops sending, ends every stream and closes every connection.
func (f *keepAliveFleet) close() {
	f.stopSend()
	f.senders.Wait()
	f.endStreams()
	for _, c := range f.conns {
		if c != nil {
			c.closeConns()
		}
	}
	f.receivers.Wait()
}

// stopLeases stops sending keepalives for the leases for which stop says so
// (the streams stay open; the other leases go on) and returns how many it
// stopped.
func (f *keepAliveFleet) stopLeases(stop func(id int64) bool) int {
	n := 0
	for _, c := range f.conns {
		c.mu.Lock()
		for i := range c.leases {
			if l := &c.leases[i]; !l.stopped && stop(l.id) {
				l.stopped = true
				n++
			}
		}
		c.mu.Unlock()
	}
	return n
}

// setMark makes t the instant from which each lease's first answer is
// recorded.
func (f *keepAliveFleet) setMark(t time.Time) { f.mark.Store(t.UnixNano()) }

// leaseState is what a fleet saw of one lease.
type leaseState struct {
	id             int64
	conn           int    // the connection that keeps it alive
	endpoint       string // that connection's endpoint in use
	lost           bool   // answered TTL ≤ 0
	lostAt         time.Time
	stopped        bool          // stopped by stopLeases
	lastSent       time.Time     // its last keepalive sent
	answered       time.Time     // the last answer with TTL > 0
	maxSilence     time.Duration // the longest time between two answers with TTL > 0
	maxSendGap     time.Duration // the longest time between two of its keepalives leaving
	firstAfterMark time.Time     // zero if none came after the mark
}

// leaseStates is the state of every lease the fleet keeps (or kept) alive.
func (f *keepAliveFleet) leaseStates() []leaseState {
	var out []leaseState
	for ci, c := range f.conns {
		c.mu.Lock()
		for _, l := range c.leases {
			out = append(out, leaseState{id: l.id, conn: ci, endpoint: c.targets[c.cur], lost: l.lost, lostAt: l.lostAt,
				stopped: l.stopped, lastSent: l.lastSent, answered: l.answered, maxSilence: l.maxSilence, maxSendGap: l.maxSendGap,
				firstAfterMark: l.firstAfterMark})
		}
		c.mu.Unlock()
	}
	return out
}

// putLeasedKeys puts key prefix+%06d(i) attached to ids[i] for every granted
// lease (ID ≠ 0), over the connection that granted it (grant's round-robin),
// at most parallel at a time.
func (f *keepAliveFleet) putLeasedKeys(ctx context.Context, prefix string, ids []int64, parallel int) error {
	return f.putKeys(ctx, ids, func(i int) string { return leasedKey(prefix, i) }, parallel)
}

// putKeys puts key(i) attached to ids[i] for every granted lease (ID ≠ 0),
// over the connection that granted it (grant's round-robin), at most
// parallel at a time.
func (f *keepAliveFleet) putKeys(ctx context.Context, ids []int64, key func(i int) string, parallel int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i, id := range ids {
		if id == 0 {
			continue
		}
		kv := pb.NewKVClient(f.conns[i%len(f.conns)].current())
		g.Go(func() error {
			_, err := kv.Put(ctx, &pb.PutRequest{Key: []byte(key(i)), Value: []byte("up"), Lease: id})
			if err != nil {
				return fmt.Errorf("bench: put with lease %x: %w", id, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// leasedKey is the key putLeasedKeys attaches to the i-th lease.
func leasedKey(prefix string, i int) string { return fmt.Sprintf("%s%06d", prefix, i) }

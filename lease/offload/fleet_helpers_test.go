package offload

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream/etcd"
)

// patience bounds every wait of these tests: it turns a hang into a
// failure that says what was awaited, and is no performance threshold.
const patience = 15 * time.Second

// faultConn is the tests' fault seam between one Offloader and etcd: the
// connection its Upstream's stubs call through. It can cut the unary calls,
// the streams (the session and carrier keepalives, the index's watch) or
// both, as a partition from etcd would, and it can hold every Txn at a gate
// until the test releases it, as a network that delays a write past the
// moment its fence stops holding. It can also hold the answers of a stream
// method: etcd gets the requests and answers them, and the answers wait, as
// behind an overloaded link or an etcd slow to apply.
type faultConn struct {
	cc grpc.ClientConnInterface

	mu         sync.Mutex
	unaryCut   bool
	streamsCut map[string]bool           // by method: new streams fail
	streams    map[string]*streamsOfCall // by method: ends the open streams at a cut
	gate       chan struct{}             // non-nil: Txns wait until it is closed
	gated      atomic.Int64              // Txns that arrived at a gate
	answers    map[string]chan struct{}  // by method: non-nil holds received messages until closed
}

// streamsOfCall ends the open streams of one method.
type streamsOfCall struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// The stream methods an Offloader holds open.
const (
	keepAliveMethod = "/etcdserverpb.Lease/LeaseKeepAlive"
	watchMethod     = "/etcdserverpb.Watch/Watch"
	txnMethod       = "/etcdserverpb.KV/Txn"
)

func newFaultConn(cc grpc.ClientConnInterface) *faultConn {
	return &faultConn{cc: cc, streamsCut: map[string]bool{}, streams: map[string]*streamsOfCall{},
		answers: map[string]chan struct{}{}}
}

// streamsOfLocked returns the open streams of method.
func (c *faultConn) streamsOfLocked(method string) *streamsOfCall {
	s := c.streams[method]
	if s == nil {
		s = &streamsOfCall{}
		s.ctx, s.cancel = context.WithCancel(context.Background())
		c.streams[method] = s
	}
	return s
}

var errCut = status.Error(codes.Unavailable, "test: cut from etcd")

func (c *faultConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.mu.Lock()
	cut, gate := c.unaryCut, c.gate
	c.mu.Unlock()
	if cut {
		return errCut
	}
	if gate != nil && method == txnMethod {
		c.gated.Add(1)
		select {
		case <-gate:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	err := c.cc.Invoke(ctx, method, args, reply, opts...)
	if method != txnMethod {
		return err
	}
	c.mu.Lock()
	answers := c.answers[txnMethod]
	c.mu.Unlock()
	if answers != nil {
		// holdAnswers(txnMethod): etcd applied the txn; its answer waits.
		select {
		case <-answers:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	return err
}

func (c *faultConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c.mu.Lock()
	cut, streams := c.streamsCut[method], c.streamsOfLocked(method)
	c.mu.Unlock()
	if cut {
		return nil, errCut
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(streams.ctx, cancel)
	s, err := c.cc.NewStream(ctx, desc, method, opts...)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	return &cutStream{ClientStream: s, ctx: ctx, end: func() { stop(); cancel() },
		gate: func() chan struct{} { c.mu.Lock(); defer c.mu.Unlock(); return c.answers[method] }}, nil
}

// cutStream releases its cut hook when the stream ends, and holds each
// message it receives while its method's answers are held.
type cutStream struct {
	grpc.ClientStream
	ctx  context.Context
	end  func()
	gate func() chan struct{}
}

func (s *cutStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.end()
		return err
	}
	if g := s.gate(); g != nil {
		select {
		case <-g:
		case <-s.ctx.Done():
			return status.FromContextError(s.ctx.Err()).Err()
		}
	}
	return nil
}

// holdAnswers holds every message the streams of method receive from now
// on (their requests still reach etcd) until releaseAnswers; for txnMethod,
// the answers of the Txns etcd applies.
func (c *faultConn) holdAnswers(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers[method] == nil {
		c.answers[method] = make(chan struct{})
	}
}

func (c *faultConn) releaseAnswers(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.answers[method]; g != nil {
		close(g)
		delete(c.answers, method)
	}
}

// cut cuts the unary calls (unary) and the streams of the given methods:
// open ones end, new ones fail.
func (c *faultConn) cut(unary bool, methods ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unaryCut = c.unaryCut || unary
	for _, m := range methods {
		c.streamsCut[m] = true
		c.streamsOfLocked(m).cancel()
		delete(c.streams, m)
	}
}

// cutAll cuts everything: the Offloader is partitioned from etcd.
func (c *faultConn) cutAll() { c.cut(true, keepAliveMethod, watchMethod) }

// heal lets the unary calls and the streams of the given methods through
// again.
func (c *faultConn) heal(unary bool, methods ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if unary {
		c.unaryCut = false
	}
	for _, m := range methods {
		delete(c.streamsCut, m)
	}
}

// holdTxns makes every Txn from now on wait at a gate; release opens it.
func (c *faultConn) holdTxns() {
	c.mu.Lock()
	c.gate = make(chan struct{})
	c.mu.Unlock()
}

func (c *faultConn) release() {
	c.mu.Lock()
	if c.gate != nil {
		close(c.gate)
		c.gate = nil
	}
	c.mu.Unlock()
}

// node is one Offloader of a test fleet, on its own connection to etcd.
type node struct {
	t    *testing.T
	name string
	url  string
	o    *Offloader
	cli  *etcd.Client
	conn *faultConn
	log  *harness.SyncBuffer

	closeOnce sync.Once
}

// fleet is a test's Offloaders: distinct names, one reserved prefix, each
// its own feeder (Bus nil).
type fleet struct {
	t    *testing.T
	keys string // the prefix of the test's client keys
	opts Options
}

var fleetN atomic.Int64

// newFleet returns a test's fleet, not started yet: short TTLs, one carrier
// per class (so a herald's leases share a carrier), and a reserved prefix
// and client keys that no other test or run uses. It starts the shared
// etcd member if needed, and checks, at the end of the test, that the
// fleet left no goroutine behind.
func newFleet(t *testing.T) *fleet {
	t.Helper()
	etcdUp(t)
	harness.VerifyNoLeaks(t, harness.EmbeddedEtcdLifetime...)
	opts := DefaultOptions()
	// Carriers of 6 s outlive a dead herald's session (2 s, plus etcd's
	// expiry tick) by seconds, whatever the phase of their renewals
	// (every second): leases of TTL ≤ 4 hang on them.
	opts.CarrierTTL = 6
	opts.SessionTTL = 2
	opts.Carriers = 1
	opts.HoldTimeout = 5 * time.Second
	name := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), fleetN.Add(1))
	opts.ReservedPrefix = "\x00herald-test/" + name + "/"
	return &fleet{t: t, keys: "/offload-test/" + name + "/", opts: opts}
}

// key is a client key of the test.
func (f *fleet) key(name string) string { return f.keys + name }

// start starts an Offloader named name; it is closed (gracefully) at the
// end of the test unless the test crashed it.
func (f *fleet) start(name string) *node {
	f.t.Helper()
	t := f.t
	cli, err := etcd.Dial(etcd.Config{Endpoints: []string{member.Endpoint(t)}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	conn := newFaultConn(cli.Direct())
	cli.Route(conn)
	n := &node{t: t, name: name, url: "http://" + name + ".test:2379", cli: cli, conn: conn, log: &harness.SyncBuffer{}}
	opts := f.opts
	opts.Name, opts.URL = name, n.url
	log := slog.New(slog.NewTextHandler(n.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n.o, err = New(opts, cli, nil, log)
	if err != nil {
		cli.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.close()
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, n.log.String())
		}
	})
	if err := n.o.Start(harness.Context(t, time.Minute)); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return n
}

// close stops the Offloader gracefully (its session revoked) and closes
// its connection.
func (n *node) close() {
	n.closeOnce.Do(func() {
		n.conn.release()
		n.conn.releaseAnswers(keepAliveMethod)
		n.conn.releaseAnswers(txnMethod)
		n.o.Close()
		n.cli.Close()
	})
}

// crash stops the Offloader as a killed herald stops: nothing more reaches
// etcd from it (its Close cannot revoke the session), so its session
// expires at etcd by itself.
func (n *node) crash() {
	n.conn.cutAll()
	n.close()
}

// callCtx bounds one call: a hang becomes an error.
func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), patience)
}

// receive returns what ch delivers, or fails t if nothing comes within
// patience.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("%s: nothing within %v", what, patience)
		panic("unreachable")
	}
}

// waitUntil fails t if cond does not hold within patience.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	harness.WaitUntil(t, what, patience, cond)
}

// grant grants a virtual lease of ttl seconds at n.
func (n *node) grant(ttl int64) int64 {
	n.t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := n.o.Grant(ctx, &pb.LeaseGrantRequest{TTL: ttl})
	if err != nil {
		n.t.Fatalf("%s: grant: %v", n.name, err)
	}
	if resp.TTL != ttl {
		n.t.Fatalf("%s: granted TTL %d, want %d", n.name, resp.TTL, ttl)
	}
	return resp.ID
}

// put puts key with lease id through n, as the proxy does: planned, sent
// upstream on n's connection, finished. It returns the client's answer.
func (n *node) put(key, value string, id int64) *pb.PutResponse {
	n.t.Helper()
	resp, err := n.txn(&pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{
		RequestPut: &pb.PutRequest{Key: []byte(key), Value: []byte(value), Lease: id, PrevKv: true}}}}})
	if err != nil {
		n.t.Fatalf("%s: put %q with lease %x: %v", n.name, key, id, err)
	}
	out := resp.Responses[0].GetResponsePut()
	out.Header = resp.Header
	return out
}

// txn runs a client's txn through n.
func (n *node) txn(r *pb.TxnRequest) (*pb.TxnResponse, error) {
	ctx, cancel := callCtx()
	defer cancel()
	plan, err := n.o.PlanTxn(ctx, r, true)
	if err != nil {
		return nil, err
	}
	up := plan.Txn
	if up == nil {
		up = r
	}
	resp, err := pb.NewKVClient(n.conn).Txn(ctx, up)
	if err != nil {
		return nil, err
	}
	return n.o.FinishTxn(ctx, plan, resp)
}

// asProxy makes a lease call at n as the proxy does: told to Hold, it
// waits for the next change of n's index or ownership and calls again (for
// at most patience), so that a herald starved for a moment is not taken
// for one that cannot vouch for the lease. It returns the last answer.
func asProxy[R any](n *node, call func() (R, Verdict)) (R, Verdict) {
	deadline := time.After(patience)
	for {
		changed := n.o.Changed()
		r, v := call()
		if v != Hold {
			return r, v
		}
		select {
		case <-changed:
		case <-deadline:
			return r, v
		}
	}
}

// keepAlive sends a keepalive for id to n (asProxy).
func (n *node) keepAlive(id int64) (*pb.LeaseKeepAliveResponse, Verdict) {
	return asProxy(n, func() (*pb.LeaseKeepAliveResponse, Verdict) { return n.o.KeepAlive(id) })
}

// keepAliveOnce sends one keepalive for id to n, and returns n's verdict,
// Hold included.
func (n *node) keepAliveOnce(id int64) (*pb.LeaseKeepAliveResponse, Verdict) {
	return n.o.KeepAlive(id)
}

// errAnswer is an answer and its error, as asProxy returns them.
type errAnswer[R any] struct {
	resp R
	err  error
}

// revoke revokes id at n (asProxy).
func (n *node) revoke(id int64) (*pb.LeaseRevokeResponse, Verdict, error) {
	a, v := asProxy(n, func() (errAnswer[*pb.LeaseRevokeResponse], Verdict) {
		ctx, cancel := callCtx()
		defer cancel()
		resp, v, err := n.o.Revoke(ctx, id, nil)
		return errAnswer[*pb.LeaseRevokeResponse]{resp, err}, v
	})
	return a.resp, v, a.err
}

// revokeAnswer is what revoke returned, for revokeAsync.
type revokeAnswer struct {
	resp *pb.LeaseRevokeResponse
	v    Verdict
	err  error
}

// revokeAsync revokes id at n in the background and delivers the answer.
func (n *node) revokeAsync(id int64) <-chan revokeAnswer {
	ch := make(chan revokeAnswer, 1)
	go func() {
		resp, v, err := n.revoke(id)
		ch <- revokeAnswer{resp, v, err}
	}()
	return ch
}

// timeToLive asks n for id's TimeToLive, with its keys (asProxy).
func (n *node) timeToLive(id int64) (*pb.LeaseTimeToLiveResponse, Verdict, error) {
	a, v := asProxy(n, func() (errAnswer[*pb.LeaseTimeToLiveResponse], Verdict) {
		ctx, cancel := callCtx()
		defer cancel()
		resp, v, err := n.o.TimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: id, Keys: true}, nil)
		return errAnswer[*pb.LeaseTimeToLiveResponse]{resp, err}, v
	})
	return a.resp, v, a.err
}

// holds reports whether n's table holds lease id.
func (n *node) holds(id int64) bool {
	n.o.mu.Lock()
	defer n.o.mu.Unlock()
	_, held := n.o.table.CarrierOf(lease.ID(id))
	return held
}

// aliveAt reports whether lease id, as n's table holds it now, is still
// alive at moment at (the table is a pure function of the time it is
// asked about).
func (n *node) aliveAt(id int64, at time.Time) bool {
	n.o.mu.Lock()
	defer n.o.mu.Unlock()
	return n.o.table.TimeToLive(lease.ID(id), at, false).TTL != -1
}

// owns reports whether n owns carrier c.
func (n *node) owns(c lease.ID) bool {
	n.o.mu.Lock()
	defer n.o.mu.Unlock()
	return n.o.own.Owns(c)
}

// carrierOf is the carrier of lease id in n's table.
func (n *node) carrierOf(id int64) lease.ID {
	n.t.Helper()
	n.o.mu.Lock()
	defer n.o.mu.Unlock()
	c, held := n.o.table.CarrierOf(lease.ID(id))
	if !held {
		n.t.Fatalf("%s does not hold lease %x", n.name, id)
	}
	return c
}

// route routes a call about lease id at n.
func (n *node) route(id int64) Route {
	n.t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	r, err := n.o.Route(ctx, id)
	if err != nil {
		n.t.Fatalf("%s: route %x: %v", n.name, id, err)
	}
	return r
}

// waitIndex waits until n's index has reached rev.
func (n *node) waitIndex(rev int64) {
	n.t.Helper()
	waitUntil(n.t, fmt.Sprintf("%s's index at revision %d", n.name, rev), func() bool { return n.o.IndexRev() >= rev })
}

// kvAt reads key at etcd directly (nil if absent).
func kvAt(t *testing.T, key []byte) *mvccpb.KeyValue {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := shared.cli.Range(ctx, &pb.RangeRequest{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	return resp.Kvs[0]
}

func existsAt(t *testing.T, key []byte) bool {
	t.Helper()
	return kvAt(t, key) != nil
}

// keysUnder lists the keys under prefix at etcd, sorted.
func keysUnder(t *testing.T, prefix []byte) []string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := shared.cli.Range(ctx, &pb.RangeRequest{Key: prefix, RangeEnd: lease.PrefixEnd(prefix), KeysOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	slices.Sort(out)
	return out
}

// etcdTTL is etcd's own LeaseTimeToLive of id (-1: etcd does not know it).
func etcdTTL(t *testing.T, id int64) int64 {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := shared.cli.TimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return resp.TTL
}

// carrierRecordAt is carrier c's record at etcd.
func carrierRecordAt(t *testing.T, ks lease.Keyspace, c lease.ID) (lease.CarrierRecord, bool) {
	t.Helper()
	kv := kvAt(t, ks.CarrierKey(c))
	if kv == nil {
		return lease.CarrierRecord{}, false
	}
	rec, err := lease.DecodeCarrierRecord(kv.Value)
	if err != nil {
		t.Fatalf("carrier %x: %v", uint64(c), err)
	}
	return rec, true
}

// session is n's session lease.
func (n *node) session() lease.ID {
	n.o.mu.Lock()
	defer n.o.mu.Unlock()
	return n.o.own.Session()
}

package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/heraldproj/herald/fanout/feed"
	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream"
	"github.com/heraldproj/herald/upstream/etcd"
)

// metrics are the hubs' of this test process, registered nowhere.
var metrics = func() *hub.Metrics {
	m, err := hub.NewMetrics(nil)
	if err != nil {
		panic(err)
	}
	return m
}()

// env is one real etcd member (embedded, in this process) and a client of it.
type env struct {
	etcdURL string
	direct  *clientv3.Client
}

func startEtcd(t *testing.T) *env {
	t.Helper()
	emb := embedded.Start(t)
	return &env{etcdURL: emb.Endpoint(), direct: harness.Client(t, emb.Endpoint())}
}

// watchServer is the Watch service of a herald as proxy/ serves it once
// the hub is ready: every stream is the hub's.
type watchServer struct {
	pb.UnimplementedWatchServer
	h *hub.Hub
}

func (s watchServer) Watch(stream pb.Watch_WatchServer) error { return s.h.Serve(stream, nil) }

// startHub starts a hub in front of the env's etcd, loads it, serves its
// Watch service on a port of its own, and returns a client of that port.
func (e *env) startHub(t *testing.T, name string, bus feed.Bus, opts hub.Options) *clientv3.Client {
	t.Helper()
	c, _ := e.startHubWith(t, hub.Config{Options: opts, Name: name, Bus: bus})
	return c
}

// startHubWith starts a hub built from cfg (its upstream, metrics and
// logger set here) behind a gRPC Watch service, and returns a client of
// that service and the hub.
func (e *env) startHubWith(t *testing.T, cfg hub.Config) (*clientv3.Client, *hub.Hub) {
	t.Helper()
	up, err := etcd.Dial(etcd.Config{Endpoints: []string{e.etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	return serveHub(t, up, cfg)
}

// serveHub starts a hub in front of up (cfg's metrics and logger set
// here) behind a gRPC Watch service, and returns a client of that service
// and the hub.
func serveHub(t *testing.T, up upstream.Upstream, cfg hub.Config) (*clientv3.Client, *hub.Hub) {
	t.Helper()
	cfg.KV, cfg.Watch, cfg.Metrics, cfg.Logger = up, up, metrics, slog.New(slog.DiscardHandler)
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(harness.Context(t, harness.DefaultPatience)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	if !h.Ready() {
		t.Fatal("hub not ready after Start")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterWatchServer(gs, watchServer{h: h})
	served := make(chan struct{})
	go func() { defer close(served); _ = gs.Serve(lis) }()
	t.Cleanup(func() { gs.Stop(); <-served })
	return harness.Client(t, lis.Addr().String()), h
}

// memBus is an in-memory fleet bus for in-process fleets, with injected
// loss: the transport seam where the tests put their faults. Like
// gossip.Bus, it carries topics: a payload reaches the heralds that opened
// its topic.
type memBus struct {
	mu      sync.Mutex
	members map[string]*memBusMember
	loss    float64
	rng     *rand.Rand
}

func newMemBus(loss float64, seed uint64) *memBus {
	return &memBus{members: map[string]*memBusMember{}, loss: loss, rng: rand.New(rand.NewPCG(seed, 1))}
}

// join returns the herald's view of the bus, and tells the others.
func (b *memBus) join(name string) *memBusMember {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := &memBusMember{b: b, name: name, topics: map[string]*memTopic{}}
	b.members[name] = m
	for _, o := range b.members {
		for _, t := range o.topics {
			t.changed()
		}
	}
	return m
}

type memBusMember struct {
	b      *memBus
	name   string
	topics map[string]*memTopic // guarded by b.mu
}

func (m *memBusMember) Topic(name string) feed.Bus {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	if t := m.topics[name]; t != nil {
		return t
	}
	t := &memTopic{m: m, name: name, ch: make(chan []byte, 4096), changes: make(chan struct{}, 1)}
	m.topics[name] = t
	return t
}

type memTopic struct {
	m       *memBusMember
	name    string
	ch      chan []byte
	changes chan struct{}
}

func (t *memTopic) changed() {
	select {
	case t.changes <- struct{}{}:
	default:
	}
}

func (t *memTopic) Broadcast(_ context.Context, payload []byte) error {
	b := t.m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, m := range b.members {
		dst := m.topics[t.name]
		if dst == nil {
			continue // topic not open there
		}
		if name != t.m.name && b.rng.Float64() < b.loss {
			continue // lost on the way
		}
		dst.ch <- append([]byte(nil), payload...)
	}
	return nil
}

func (t *memTopic) Deliveries() <-chan []byte { return t.ch }
func (t *memTopic) Changes() <-chan struct{}  { return t.changes }
func (t *memTopic) Members() []string {
	b := t.m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for n := range b.members {
		names = append(names, n)
	}
	return names
}

// event is what a watcher saw, in comparable form.
func event(ev *clientv3.Event) string {
	s := fmt.Sprintf("%s %s=%s mod=%d", ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision)
	if ev.PrevKv != nil {
		s += fmt.Sprintf(" prev=%s@%d", ev.PrevKv.Value, ev.PrevKv.ModRevision)
	}
	return s
}

// recorder collects a watch channel's events.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func record(ctx context.Context, wc clientv3.WatchChan) *recorder {
	r := &recorder{}
	go func() {
		for wr := range wc {
			r.mu.Lock()
			for _, ev := range wr.Events {
				r.events = append(r.events, event(ev))
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// workload drives puts, deletes and multi-key txns under /svc/.
func workload(t *testing.T, c *clientv3.Client, n int, seed uint64) {
	t.Helper()
	ctx := harness.Context(t, harness.DefaultPatience)
	rng := rand.New(rand.NewPCG(seed, 2))
	key := func() string { return fmt.Sprintf("/svc/%c", 'a'+rng.IntN(6)) }
	for i := 0; i < n; i++ {
		var err error
		switch rng.IntN(4) {
		case 0, 1:
			_, err = c.Put(ctx, key(), fmt.Sprint(i))
		case 2:
			_, err = c.Delete(ctx, key())
		case 3:
			_, err = c.Txn(ctx).Then(clientv3.OpPut("/svc/x", fmt.Sprint(i)), clientv3.OpPut("/svc/y", fmt.Sprint(i)), clientv3.OpDelete(key())).Commit()
		}
		if err != nil && !strings.Contains(err.Error(), "duplicate key") {
			t.Fatal(err)
		}
		if i%10 == 0 {
			_, _ = c.Put(ctx, "/other/noise", fmt.Sprint(i)) // outside the prefix
		}
	}
}

type watchSpec struct {
	name string
	key  string
	opts func(rev int64) []clientv3.OpOption
}

var watchSpecs = []watchSpec{
	{"prefix", "/svc/", func(int64) []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrefix()} }},
	{"one key with prev_kv", "/svc/a", func(int64) []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrevKV()} }},
	{"range b..d", "/svc/b", func(int64) []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithRange("/svc/d")} }},
	{"prefix, deletes only", "/svc/", func(int64) []clientv3.OpOption {
		return []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithFilterPut(), clientv3.WithPrevKV()}
	}},
	{"prefix from history", "/svc/", func(rev int64) []clientv3.OpOption {
		return []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithRev(rev)}
	}},
}

// compareStreams waits until every herald watcher saw what etcd's saw, and
// fails with the first difference if they do not converge.
func compareStreams(t *testing.T, direct, via map[string]*recorder) {
	t.Helper()
	if err := harness.Await(20*time.Second, func() error {
		for name := range direct {
			d, v := direct[name].snapshot(), via[name].snapshot()
			for i := 0; i < max(len(d), len(v)); i++ {
				var de, ve string
				if i < len(d) {
					de = d[i]
				}
				if i < len(v) {
					ve = v[i]
				}
				if de != ve {
					return fmt.Errorf("watch %q: event %d differs (etcd %d events, herald %d)\netcd:   %s\nherald: %s", name, i, len(d), len(v), de, ve)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestFanoutWatchesMatchEtcd serves watches of several shapes from the
// fan-out cache and compares each stream with the same watch on etcd.
func TestFanoutWatchesMatchEtcd(t *testing.T) {
	e := startEtcd(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	start, err := e.direct.Put(ctx, "/svc/a", "seed")
	if err != nil {
		t.Fatal(err)
	}
	viaHerald := e.startHub(t, "h", nil, hub.Options{Prefixes: []string{"/svc/"}})
	direct, via := map[string]*recorder{}, map[string]*recorder{}
	for _, w := range watchSpecs {
		direct[w.name] = record(ctx, e.direct.Watch(ctx, w.key, w.opts(start.Header.Revision)...))
		via[w.name] = record(ctx, viaHerald.Watch(ctx, w.key, w.opts(start.Header.Revision)...))
	}
	workload(t, e.direct, 300, 1)
	compareStreams(t, direct, via)
	if n := len(direct["prefix"].snapshot()); n < 300 {
		t.Fatalf("only %d events: the workload did not run", n)
	}
}

// TestFanoutFleetRepairsLoss runs two heralds on one etcd, joined by a bus
// that loses 20 % of the batches: the non-feeder repairs its gaps from etcd
// and its watchers still see exactly etcd's streams.
func TestFanoutFleetRepairsLoss(t *testing.T) {
	e := startEtcd(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	start, err := e.direct.Put(ctx, "/svc/a", "seed")
	if err != nil {
		t.Fatal(err)
	}
	bus := newMemBus(0.2, 7)
	var heralds []*clientv3.Client
	for _, name := range []string{"h1", "h2"} {
		b := bus.join(name).Topic(hub.Topic)
		heralds = append(heralds, e.startHub(t, name, b, hub.Options{Prefixes: []string{"/svc/"}, Feeders: 1, RepairDelay: 50 * time.Millisecond}))
	}
	direct, via := map[string]*recorder{}, map[string]*recorder{}
	for _, w := range watchSpecs {
		direct[w.name] = record(ctx, e.direct.Watch(ctx, w.key, w.opts(start.Header.Revision)...))
		for i, c := range heralds {
			via[fmt.Sprint(w.name, "@h", i+1)] = record(ctx, c.Watch(ctx, w.key, w.opts(start.Header.Revision)...))
		}
	}
	workload(t, e.direct, 300, 2)
	for i := range heralds {
		sub := map[string]*recorder{}
		for _, w := range watchSpecs {
			sub[w.name] = via[fmt.Sprint(w.name, "@h", i+1)]
		}
		compareStreams(t, direct, sub)
	}
}

package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// The fan-out benchmarks' knobs (see fanout_bench_test.go), echoed in the
// reproduce command with the package's own.
const (
	watchersEnv  = "HERALD_BENCH_WATCHERS"      // upstream cost: comma list of W; latency: the largest
	proxiesEnv   = "HERALD_BENCH_PROXIES"       // P: proxies (racks) per path
	eventsEnv    = "HERALD_BENCH_EVENTS"        // upstream cost: events on overlapping ranges
	changesEnv   = "HERALD_BENCH_CHANGES"       // delivery latency: key changes
	nodesEnv     = "HERALD_BENCH_NODES"         // failure to notification: nodes
	nodeWatchEnv = "HERALD_BENCH_NODE_WATCHERS" // failure to notification: watchers per other proxy
)

var fanoutKnobs = []string{watchersEnv, proxiesEnv, eventsEnv, changesEnv, nodesEnv, nodeWatchEnv}

// fanoutPrefix is the fleet's --fanout-prefix; every fan-out workload keeps
// its keys under it.
const fanoutPrefix = "/services/"

// watchersPerStream is how many watchers share one Watch stream (and how
// many streams share one connection is P-dependent): a load generator that
// costs little per watcher.
const watchersPerStream = 100

// racks is one etcd member and P fronts of one kind in front of it: P
// grpc-proxies, a fleet of P heralds, or (direct) P views of etcd itself.
type racks struct {
	kind      pathKind
	etcd      *harness.EtcdCluster
	endpoints []string // one per rack
	procs     []*harness.Proc
	metrics   []string // each front's /metrics URL (none for direct)
	auth      bool     // etcd has auth on (authEnv): clients authenticate
}

// startRacks starts a fresh etcd and p fronts of kind in front of it. A
// herald fleet is joined, has its feeders and delivers a sentinel event on
// every herald before startRacks returns.
func startRacks(b *testing.B, kind pathKind, p int) *racks {
	b.Helper()
	c := harness.StartEtcd(b, harness.EtcdOptions{})
	r := &racks{kind: kind, etcd: c, auth: authOn()}
	if r.auth {
		if err := enableAuth(c.Endpoints()[0]); err != nil {
			b.Fatal(err)
		}
	}
	switch kind {
	case pathDirect:
		for range p {
			r.endpoints = append(r.endpoints, c.Endpoints()[0])
		}
	case pathGRPCProxy:
		for range p {
			gp := harness.StartGRPCProxy(b, c.Endpoints())
			r.endpoints = append(r.endpoints, gp.Endpoint())
			r.procs = append(r.procs, gp.Proc)
			r.metrics = append(r.metrics, gp.MetricsURL()+"/metrics")
		}
	case pathHerald:
		startFleet(b, r, p)
	}
	return r
}

// startFleet starts p heralds joined in one fleet with --fanout-prefix
// /services/ and two feeders, and waits until it works end to end.
func startFleet(b *testing.B, r *racks, p int) {
	b.Helper()
	keyFile := filepath.Join(b.TempDir(), "fleet.key")
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		b.Fatal(err)
	}
	var seed string
	for i := range p {
		gossip := harness.FreeAddr(b)
		args := []string{
			"--gossip-addr", gossip,
			"--gossip-transport-addr", harness.FreeAddr(b),
			"--gossip-key-file", keyFile,
			"--gossip-profile", "local",
			"--fanout-prefix", fanoutPrefix,
			"--fanout-feeders", "2",
			"--enable-pprof", // the scenario reads each herald's live heap after a forced GC
		}
		if r.auth {
			args = append(args, "--user", heraldUser+":"+heraldPassword)
		}
		if seed != "" {
			args = append(args, "--join", seed)
		} else {
			seed = gossip
		}
		h := harness.StartHerald(b, harness.HeraldOptions{
			Endpoints: r.etcd.Endpoints(),
			Name:      fmt.Sprintf("h%02d", i),
			ExtraArgs: append(args, heraldArgs()...),
		})
		r.endpoints = append(r.endpoints, h.Endpoint())
		r.procs = append(r.procs, h.Proc)
		r.metrics = append(r.metrics, h.MetricsURL()+"/metrics")
	}
	if err := r.waitFleet(p, 60*time.Second); err != nil {
		b.Fatalf("herald fleet: %v", err)
	}
}

// waitFleet waits until every herald lists p members, exactly two feed, and
// a sentinel Put reaches a watcher on every herald.
func (r *racks) waitFleet(p int, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var clis []*clientv3.Client
	defer func() {
		for _, c := range clis {
			c.Close()
		}
	}()
	for _, ep := range r.endpoints {
		c, err := r.client(ep)
		if err != nil {
			return err
		}
		clis = append(clis, c)
	}
	for {
		ok := true
		for _, c := range clis {
			resp, err := c.MemberList(ctx)
			if err != nil || clientURLs(resp.Members) != p {
				ok = false
				break
			}
		}
		if feeding, err := r.sumFrontMetric("herald_fanout_feeding"); err != nil || feeding != 2 {
			ok = false
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fleet not formed within %v (want %d members, 2 feeders)", within, p)
		case <-time.After(200 * time.Millisecond):
		}
	}
	sentinel := fanoutPrefix + "bench-ready"
	var chans []clientv3.WatchChan
	for _, c := range clis {
		ch := c.Watch(ctx, sentinel, clientv3.WithCreatedNotify())
		if resp := <-ch; !resp.Created {
			return fmt.Errorf("sentinel watch not created: %v", resp.Err())
		}
		chans = append(chans, ch)
	}
	direct, err := r.client(r.etcd.Endpoints()[0])
	if err != nil {
		return err
	}
	defer direct.Close()
	if _, err := direct.Put(ctx, sentinel, "1"); err != nil {
		return err
	}
	for i, ch := range chans {
		select {
		case resp := <-ch:
			if len(resp.Events) == 0 {
				return fmt.Errorf("herald %d: sentinel watch ended: %v", i, resp.Err())
			}
		case <-ctx.Done():
			return fmt.Errorf("herald %d: sentinel event not delivered within %v", i, within)
		}
	}
	return nil
}

// sumFrontMetric adds up metric over every front's /metrics.
func (r *racks) sumFrontMetric(metric string) (float64, error) {
	var sum float64
	for _, u := range r.metrics {
		v, err := scrape(u, metric, nil)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// pids are etcd's process id and the fronts'.
func (r *racks) pids() []int {
	out := []int{r.etcd.Member(0).PID()}
	for _, p := range r.procs {
		out = append(out, p.PID())
	}
	return out
}

// watchMessagesSent is etcd's grpc_server_msg_sent_total for
// etcdserverpb.Watch: every message etcd has sent on Watch streams (created,
// event, progress and cancel responses alike), not counting the gRPC health
// service's own Watch method.
func (r *racks) watchMessagesSent() (float64, error) {
	return scrape(r.etcd.Member(0).MetricsURL()+"/metrics", metricMsgSent, watchLabels)
}

// stop ends the fronts and then etcd.
func (r *racks) stop() {
	for _, p := range r.procs {
		p.Stop()
	}
	r.etcd.Member(0).Stop()
}

// cpuMeter over etcd, every front (summed) and this process.
type rackCPU struct {
	m *cpuMeter
}

func (r *racks) startCPU() (*rackCPU, error) {
	m, err := startCPU(append(r.pids(), 0)...)
	if err != nil {
		return nil, err
	}
	return &rackCPU{m: m}, nil
}

// cores returns the cores etcd, the fronts together and the load generator
// kept busy since startCPU.
func (c *rackCPU) cores() (etcd, fronts, gen float64, err error) {
	v, err := c.m.cores()
	if err != nil {
		return 0, 0, 0, err
	}
	for _, f := range v[1 : len(v)-1] {
		fronts += f
	}
	return v[0], fronts, v[len(v)-1], nil
}

// watchRange is one watcher's range: [key, end), or key alone when end is
// empty.
type watchRange struct{ key, end string }

// arrival is one event received by one watcher.
type arrival struct {
	watcher int // index into the watchers' ranges
	rev     int64
	key     string
	del     bool
	at      time.Time
}

// watchFleet is a set of watchers opened over raw gRPC Watch streams,
// watchersPerStream to a stream, spread round-robin over endpoints.
type watchFleet struct {
	conns     []*grpc.ClientConn
	streams   []*watchStream
	responses atomic.Int64 // responses received after the watchers were created, all streams
	events    atomic.Int64 // events received, all watchers
	canceled  atomic.Int64 // watchers the server cancelled
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

type watchStream struct {
	s      pb.Watch_WatchClient
	byID   map[int64]int // etcd's watch id → watcher index
	record bool
	sink   func(watcher int, ev *mvccpb.Event, at time.Time)
	mu     sync.Mutex
	got    []arrival
	err    error
}

// openWatchers creates one watcher per range; watcher i goes to endpoint
// i mod len(endpoints). With record, every event's arrival is kept.
func openWatchers(endpoints []string, ranges []watchRange, prevKV, record bool) (*watchFleet, error) {
	return openWatchersWith(endpoints, ranges, watchOptions{prevKV: prevKV, record: record})
}

// watchOptions shape a watchFleet.
type watchOptions struct {
	prevKV bool
	record bool // keep every event's arrival (arrivals)
	// connsPerEndpoint is how many gRPC connections (TCP connections) each
	// endpoint's streams are spread over; 0 is 1.
	connsPerEndpoint int
	// sink, when set, is called from the streams' receive loops (several
	// at once) with every event as it arrives: for workloads too large to
	// keep an arrival per event.
	sink func(watcher int, ev *mvccpb.Event, at time.Time)
	// token, when set, is the auth token every stream carries.
	token string
}

// openWatchersWith creates one watcher per range; watcher i goes to
// endpoint i mod len(endpoints), on a stream of watchersPerStream watchers,
// the streams of an endpoint taking its connections in turn.
func openWatchersWith(endpoints []string, ranges []watchRange, o watchOptions) (*watchFleet, error) {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.Background()))
	if o.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, rpctypes.TokenFieldNameGRPC, o.token)
	}
	f := &watchFleet{cancel: cancel}
	byFront := make([][]int, len(endpoints))
	for i := range ranges {
		byFront[i%len(endpoints)] = append(byFront[i%len(endpoints)], i)
	}
	type job struct {
		conn     *grpc.ClientConn
		watchers []int
	}
	var jobs []job
	for fi, ep := range endpoints {
		var conns []*grpc.ClientConn
		for range max(1, o.connsPerEndpoint) {
			conn, err := grpc.NewClient(hostPort(ep), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				f.close()
				return nil, fmt.Errorf("bench: dial %s: %w", ep, err)
			}
			f.conns = append(f.conns, conn)
			conns = append(conns, conn)
		}
		ws := byFront[fi]
		for len(ws) > 0 {
			n := min(watchersPerStream, len(ws))
			jobs = append(jobs, job{conns[len(jobs)%len(conns)], ws[:n]})
			ws = ws[n:]
		}
	}
	f.streams = make([]*watchStream, len(jobs))
	var g errgroup.Group
	g.SetLimit(16)
	for ji, j := range jobs {
		g.Go(func() error {
			s, err := openWatchStream(ctx, j.conn, j.watchers, ranges, o.prevKV)
			if err != nil {
				return err
			}
			s.record, s.sink = o.record, o.sink
			f.streams[ji] = s
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		f.close()
		return nil, err
	}
	for _, s := range f.streams {
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.recvLoop(s) }()
	}
	return f, nil
}

// openWatchStream opens a stream and creates its watchers, waiting for every
// created response (matched to its request by order, which etcd, its proxy
// and herald all keep on one stream).
func openWatchStream(ctx context.Context, conn *grpc.ClientConn, watchers []int, ranges []watchRange, prevKV bool) (*watchStream, error) {
	s, err := pb.NewWatchClient(conn).Watch(ctx, grpc.WaitForReady(true))
	if err != nil {
		return nil, fmt.Errorf("bench: open watch stream: %w", err)
	}
	ws := &watchStream{s: s, byID: map[int64]int{}}
	for _, w := range watchers {
		req := &pb.WatchCreateRequest{Key: []byte(ranges[w].key), PrevKv: prevKV}
		if ranges[w].end != "" {
			req.RangeEnd = []byte(ranges[w].end)
		}
		if err := s.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: req}}); err != nil {
			return nil, fmt.Errorf("bench: send watch create: %w", err)
		}
	}
	for created := 0; created < len(watchers); {
		resp, err := s.Recv()
		if err != nil {
			return nil, fmt.Errorf("bench: watch create: %w", err)
		}
		if !resp.Created {
			continue
		}
		if resp.Canceled {
			return nil, fmt.Errorf("bench: watch create refused: %s", resp.CancelReason)
		}
		ws.byID[resp.WatchId] = watchers[created]
		created++
	}
	return ws, nil
}

func (f *watchFleet) recvLoop(s *watchStream) {
	for {
		resp, err := s.s.Recv()
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		f.responses.Add(1)
		if resp.Canceled {
			f.canceled.Add(1)
		}
		if len(resp.Events) == 0 {
			continue
		}
		at := time.Now()
		f.events.Add(int64(len(resp.Events)))
		w := s.byID[resp.WatchId]
		if s.sink != nil {
			for _, ev := range resp.Events {
				s.sink(w, ev, at)
			}
		}
		if !s.record {
			continue
		}
		s.mu.Lock()
		for _, ev := range resp.Events {
			s.got = append(s.got, arrival{watcher: w, rev: ev.Kv.ModRevision, key: string(ev.Kv.Key),
				del: ev.Type == mvccpb.DELETE, at: at})
		}
		s.mu.Unlock()
	}
}

// waitEvents waits until at least n events have arrived in all, or until
// within has passed; it returns the count.
func (f *watchFleet) waitEvents(n int64, within time.Duration) int64 {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if v := f.events.Load(); v >= n {
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
	return f.events.Load()
}

// arrivals is every recorded arrival so far, of every stream.
func (f *watchFleet) arrivals() []arrival {
	var out []arrival
	for _, s := range f.streams {
		s.mu.Lock()
		out = append(out, s.got...)
		s.mu.Unlock()
	}
	return out
}

// deletedKeys is how many distinct keys with prefix a recorded DELETE
// arrived for, and when the last of those first DELETEs arrived.
func (f *watchFleet) deletedKeys(prefix string) (int, time.Time) {
	seen := map[string]bool{}
	var last time.Time
	for _, a := range f.arrivals() {
		if a.del && strings.HasPrefix(a.key, prefix) && !seen[a.key] {
			seen[a.key] = true
			last = a.at
		}
	}
	return len(seen), last
}

// health says how many watchers the server cancelled and how many streams
// ended, with the first error, before close; empty when all is well.
func (f *watchFleet) health() string {
	ended := 0
	var first error
	for _, s := range f.streams {
		s.mu.Lock()
		if s.err != nil {
			ended++
			if first == nil {
				first = s.err
			}
		}
		s.mu.Unlock()
	}
	if n := f.canceled.Load(); n > 0 || ended > 0 {
		return fmt.Sprintf("%d watchers cancelled by the server, %d of %d streams ended (first: %v)", n, ended, len(f.streams), first)
	}
	return ""
}

func (f *watchFleet) close() {
	f.cancel()
	for _, c := range f.conns {
		c.Close()
	}
	f.wg.Wait()
}

// clientURLs counts the distinct client URLs of members: through herald,
// the fleet's heralds.
func clientURLs(members []*pb.Member) int {
	seen := map[string]bool{}
	for _, m := range members {
		for _, u := range m.ClientURLs {
			seen[u] = true
		}
	}
	return len(seen)
}

package relay

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldproj/herald/tests/harness"
)

// waitLimit bounds every wait of these tests; it is a hang detector, not a
// timing requirement.
const waitLimit = 30 * time.Second

var keySeq atomic.Int64

// uniqueKey is a key no other test (or repetition under -count) uses.
func uniqueKey(t *testing.T) []byte {
	return []byte(fmt.Sprintf("%s/%d", t.Name(), keySeq.Add(1)))
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// stepClock runs the Switch's prober one probe at a time: the prober arms
// a timer, the test fires it.
type stepClock struct {
	armed chan chan time.Time // holds the armed timer, if any
}

func newStepClock() *stepClock { return &stepClock{armed: make(chan chan time.Time, 1)} }

// Now is never read by the prober; a constant will do.
func (c *stepClock) Now() time.Time { return time.Time{} }

func (c *stepClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	fire := make(chan time.Time, 1)
	c.armed <- fire // never blocks: the prober arms again only after a fire
	return fire, func() bool { return true }
}

// probe lets the prober run one probe and returns once that probe's
// outcome has been applied (the prober armed its next timer).
func (c *stepClock) probe(t *testing.T) {
	t.Helper()
	select {
	case fire := <-c.armed:
		fire <- time.Time{}
	case <-time.After(waitLimit):
		t.Fatal("the prober never armed its timer")
	}
	select {
	case next := <-c.armed:
		c.armed <- next
	case <-time.After(waitLimit):
		t.Fatal("the probe did not finish")
	}
}

// forwarder is a TCP hop between herald and etcd that the test can cut
// (every connection closed, new ones refused after accept) and restore.
type forwarder struct {
	lis    net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func startForwarder(t *testing.T, target string) *forwarder {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{lis: lis, target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() {
		lis.Close()
		f.setCut(true)
		f.wg.Wait()
	})
	return f
}

func (f *forwarder) addr() string { return f.lis.Addr().String() }

func (f *forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.lis.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		if f.cut {
			f.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		f.conns[c], f.conns[up] = struct{}{}, struct{}{}
		f.mu.Unlock()
		f.wg.Add(2)
		go f.copy(c, up)
		go f.copy(up, c)
	}
}

func (f *forwarder) copy(dst, src net.Conn) {
	defer f.wg.Done()
	io.Copy(dst, src)
	// Either direction ending ends the pair.
	dst.Close()
	src.Close()
	f.mu.Lock()
	delete(f.conns, dst)
	delete(f.conns, src)
	f.mu.Unlock()
}

func (f *forwarder) setCut(cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = cut
	if cut {
		for c := range f.conns {
			c.Close()
		}
	}
}

// startServer serves s on a free 127.0.0.1 port until the test ends.
func startServer(t *testing.T, s *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		wg.Wait()
	})
	return lis.Addr().String()
}

// dial connects to addr in plain text, reconnecting quickly after a cut.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, MaxDelay: 100 * time.Millisecond},
			MinConnectTimeout: 5 * time.Second,
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// etcdClientConn is a clientv3 connection to etcd, the kind herald's
// upstream holds (interceptors and all), for a peer's Handler.
func etcdClientConn(t *testing.T, addr string) grpc.ClientConnInterface {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli.ActiveConnection()
}

var testToken = Token([]byte("the fleet's gossip key, 32 bytes"))

// fixture is a herald cut off (or not) from etcd and one peer herald:
//
//	Switch ──direct──▶ forwarder ──▶ etcd
//	   └────relay────▶ peer (Handler) ──▶ etcd
type fixture struct {
	etcd     *grpc.ClientConn // the test's own connection to etcd, for comparison
	fwd      *forwarder
	direct   *grpc.ClientConn
	peerAddr string
	peers    atomic.Pointer[[]string]
	clock    *stepClock
	sw       *Switch
	switched chan bool // OnSwitch's calls
}

func newFixture(t *testing.T, adjust ...func(*Config)) *fixture {
	t.Helper()
	addr := etcdAddr(t)
	harness.VerifyNoLeaks(t, harness.EmbeddedEtcdLifetime...)
	f := &fixture{clock: newStepClock(), switched: make(chan bool, 16)}
	f.etcd = dial(t, addr)
	f.fwd = startForwarder(t, addr)
	f.direct = dial(t, f.fwd.addr())
	f.peerAddr = startServer(t, grpc.NewServer(grpc.UnknownServiceHandler(Handler(etcdClientConn(t, addr), testToken, testLogger(t)))))
	f.setPeers("http://" + f.peerAddr)
	cfg := Config{
		Direct:       f.direct,
		Peers:        func() []string { return *f.peers.Load() },
		Token:        testToken,
		Probe:        HealthProbe(f.direct),
		ProbeTimeout: waitLimit,
		OnSwitch:     func(r bool) { f.switched <- r },
		Clock:        f.clock,
		Logger:       testLogger(t),
	}
	for _, a := range adjust {
		a(&cfg)
	}
	sw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	f.sw = sw
	return f
}

func (f *fixture) setPeers(urls ...string) { f.peers.Store(&urls) }

// cutDirect cuts the direct path and probes until the Switch relays: two
// failed probes, by the default rule.
func (f *fixture) cutDirect(t *testing.T) {
	t.Helper()
	f.fwd.setCut(true)
	f.clock.probe(t)
	if f.sw.Relaying() {
		t.Fatal("relaying after one failed probe")
	}
	f.clock.probe(t)
	if !f.sw.Relaying() {
		t.Fatal("not relaying after two failed probes")
	}
}

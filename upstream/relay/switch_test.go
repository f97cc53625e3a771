package relay

import (
	"context"
	"crypto/tls"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// TestSwitchFollowsTheDirectPath: direct while etcd answers, relayed after
// two failed probes, direct again after two good ones; a stream opened on
// the relay stays there.
func TestSwitchFollowsTheDirectPath(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	kv := pb.NewKVClient(f.sw)
	key := uniqueKey(t)

	if _, err := kv.Put(ctx, &pb.PutRequest{Key: key, Value: []byte("direct")}); err != nil {
		t.Fatal(err)
	}
	if st := f.sw.Stats(); st.DirectCalls != 1 || st.RelayedCalls != 0 || st.Switches != 0 || st.PeerConns != 0 {
		t.Fatalf("stats on the direct path %+v", st)
	}

	f.cutDirect(t)
	if r := <-f.switched; !r {
		t.Fatal("OnSwitch(false) on the way to the relay")
	}
	w, err := pb.NewWatchClient(f.sw).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: key}}}); err != nil {
		t.Fatal(err)
	}
	if r, err := w.Recv(); err != nil || !r.Created {
		t.Fatalf("create: %v %v", r, err)
	}
	if _, err := kv.Put(ctx, &pb.PutRequest{Key: key, Value: []byte("relayed")}); err != nil {
		t.Fatalf("put while relaying: %v", err)
	}
	if ev, err := w.Recv(); err != nil || string(ev.Events[0].Kv.Value) != "relayed" {
		t.Fatalf("event: %v %v", ev, err)
	}
	if st := f.sw.Stats(); st.DirectCalls != 1 || st.RelayedCalls != 2 || st.Switches != 1 || st.PeerConns != 1 {
		t.Fatalf("stats while relaying %+v", st)
	}

	f.fwd.setCut(false)
	// The direct connection comes back after gRPC's reconnect backoff, in
	// real time; probes before that fail (fast) and count for nothing. The
	// rule is what is under test: wait for the connection, then two good
	// probes bring the Switch back, one does not.
	waitReady(t, ctx, f.direct)
	f.clock.probe(t)
	if !f.sw.Relaying() {
		t.Fatal("back on the direct path after one good probe")
	}
	f.clock.probe(t)
	if f.sw.Relaying() {
		t.Fatal("still relaying after two good probes of a restored direct path")
	}
	if r := <-f.switched; r {
		t.Fatal("OnSwitch(true) on the way back")
	}
	if _, err := kv.Put(ctx, &pb.PutRequest{Key: key, Value: []byte("direct again")}); err != nil {
		t.Fatal(err)
	}
	if st := f.sw.Stats(); st.DirectCalls != 2 || st.RelayedCalls != 2 || st.Switches != 2 {
		t.Fatalf("stats back on the direct path %+v", st)
	}
	// The watch opened on the relay still runs there.
	if ev, err := w.Recv(); err != nil || string(ev.Events[0].Kv.Value) != "direct again" {
		t.Fatalf("event on the relayed watch after the switch back: %v %v", ev, err)
	}
}

// waitReady waits for conn to be connected (it reconnects by itself after
// a cut, after its backoff).
func waitReady(t *testing.T, ctx context.Context, conn *grpc.ClientConn) {
	t.Helper()
	conn.Connect()
	for st := conn.GetState(); st != connectivity.Ready; st = conn.GetState() {
		if !conn.WaitForStateChange(ctx, st) {
			t.Fatalf("the direct connection did not come back: %v", st)
		}
	}
}

// probeFixture is a Switch whose probe outcome and peer list the test sets.
type probeFixture struct {
	sw      *Switch
	clock   *stepClock
	outcome atomic.Pointer[error]
	peers   atomic.Pointer[[]string]
}

func newProbeFixture(t *testing.T) *probeFixture {
	t.Helper()
	harness.VerifyNoLeaks(t, harness.EmbeddedEtcdLifetime...)
	f := &probeFixture{clock: newStepClock()}
	f.setOutcome(nil)
	f.setPeers()
	sw, err := New(Config{
		Direct: dial(t, closedAddr(t)),
		Peers:  func() []string { return *f.peers.Load() },
		Token:  testToken,
		Probe:  func(context.Context) error { return *f.outcome.Load() },
		Clock:  f.clock,
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	f.sw = sw
	return f
}

func (f *probeFixture) setOutcome(err error)    { f.outcome.Store(&err) }
func (f *probeFixture) setPeers(urls ...string) { f.peers.Store(&urls) }

// TestSwitchNeedsAPeerToRelay: without peers the Switch stays direct
// however often the probe fails, and goes at the first failure once one
// is known; PermissionDenied from etcd counts as an answer.
func TestSwitchNeedsAPeerToRelay(t *testing.T) {
	f := newProbeFixture(t)
	f.setOutcome(status.Error(codes.Unavailable, "test: etcd unreachable"))
	for range 3 {
		f.clock.probe(t)
	}
	if f.sw.Relaying() {
		t.Fatal("relaying with no peer")
	}
	f.setPeers("http://" + closedAddr(t))
	f.clock.probe(t)
	if !f.sw.Relaying() {
		t.Fatal("not relaying once a peer is known")
	}
	f.setOutcome(status.Error(codes.PermissionDenied, "etcdserver: permission denied"))
	f.clock.probe(t)
	f.clock.probe(t)
	if f.sw.Relaying() {
		t.Fatal("permission denied is not counted as etcd answering")
	}
	if st := f.sw.Stats(); st.Switches != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSwitchRotatesPastDeadPeers: a listed peer that cannot be reached is
// skipped; with no reachable peer left, calls go direct.
func TestSwitchRotatesPastDeadPeers(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	dead := "http://" + closedAddr(t)
	f.setPeers(dead, "http://"+f.peerAddr)
	f.sw.peers.start = func(int) int { return 0 } // the dead peer first
	f.cutDirect(t)

	kv := pb.NewKVClient(f.sw)
	if _, err := kv.Range(ctx, &pb.RangeRequest{Key: uniqueKey(t)}); err != nil {
		t.Fatalf("range with a dead peer listed first: %v", err)
	}
	if st := f.sw.Stats(); st.RelayedCalls != 1 || st.DirectCalls != 0 || st.PeerConns != 2 {
		t.Fatalf("stats %+v: want one relayed call after trying both peers", st)
	}
	w, err := pb.NewWatchClient(f.sw).Watch(ctx)
	if err != nil {
		t.Fatalf("watch with a dead peer listed: %v", err)
	}
	if err := w.CloseSend(); err != nil {
		t.Fatal(err)
	}

	f.setPeers(dead)
	_, err = kv.Range(ctx, &pb.RangeRequest{Key: uniqueKey(t)})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("range with only a dead peer and no direct path: %v", err)
	}
	if st := f.sw.Stats(); st.DirectCalls != 1 || st.PeerConns != 1 {
		t.Fatalf("stats %+v: want the call sent direct, the departed peer's connection closed", st)
	}
}

// TestSwitchClosesPeersThatLeave: a peer gone from the list loses its
// connection at the next probe, and the calls on it end.
func TestSwitchClosesPeersThatLeave(t *testing.T) {
	f := newFixture(t)
	f.cutDirect(t)
	w, err := pb.NewWatchClient(f.sw).Watch(harness.Context(t, waitLimit))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: uniqueKey(t)}}}); err != nil {
		t.Fatal(err)
	}
	if r, err := w.Recv(); err != nil || !r.Created {
		t.Fatalf("create: %v %v", r, err)
	}
	f.setPeers()
	f.clock.probe(t)
	if n := f.sw.Stats().PeerConns; n != 0 {
		t.Fatalf("%d peer connections after the peer left", n)
	}
	if _, err := w.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("relayed watch after its peer left: %v", err)
	}
}

// TestSwitchCloseLeavesDirectOpen: Close ends the prober and the peer
// connections; the direct connection stays the caller's, and calls made
// after Close go direct.
func TestSwitchCloseLeavesDirectOpen(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	f.cutDirect(t)
	kv := pb.NewKVClient(f.sw)
	if _, err := kv.Range(ctx, &pb.RangeRequest{Key: uniqueKey(t)}); err != nil {
		t.Fatal(err)
	}
	if err := f.sw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.sw.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if n := f.sw.Stats().PeerConns; n != 0 {
		t.Fatalf("%d peer connections after Close", n)
	}
	if f.sw.Relaying() {
		t.Fatal("Relaying after Close, though new calls go direct")
	}
	if st := f.direct.GetState(); st == connectivity.Shutdown {
		t.Fatal("Close closed the direct connection")
	}
	f.fwd.setCut(false)
	if _, err := kv.Range(ctx, &pb.RangeRequest{Key: uniqueKey(t)}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("range after Close: %v", err)
	}
	if st := f.sw.Stats(); st.DirectCalls != 1 {
		t.Fatalf("stats %+v: want the call after Close sent direct", st)
	}
}

// TestRelayOverTLS: an https peer is reached with the configured TLS.
func TestRelayOverTLS(t *testing.T) {
	ca := harness.NewCA(t, "relay-ca")
	serverTLS := &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "herald peer").KeyPair(t)}, MinVersion: tls.VersionTLS12}
	clientTLS := ca.ClientTLS(t, nil)
	f := newFixture(t, func(c *Config) { c.PeerTLS = clientTLS })
	tlsPeer := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)),
		grpc.UnknownServiceHandler(Handler(etcdClientConn(t, etcdAddr(t)), testToken, testLogger(t))))
	f.setPeers("https://" + startServer(t, tlsPeer))
	f.cutDirect(t)
	if _, err := pb.NewKVClient(f.sw).Put(harness.Context(t, waitLimit), &pb.PutRequest{Key: uniqueKey(t), Value: []byte("tls")}); err != nil {
		t.Fatalf("put through a TLS peer: %v", err)
	}
	if st := f.sw.Stats(); st.RelayedCalls != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPeerDialerRefusesBadURLs(t *testing.T) {
	d := peerDialer(nil, nil)
	for _, u := range []string{"ftp://127.0.0.1:1", "127.0.0.1:2379", "http://", "http://%zz"} {
		if c, err := d(u); err == nil || !strings.HasPrefix(err.Error(), "relay: ") {
			if c != nil {
				c.Close()
			}
			t.Errorf("%q: %v", u, err)
		}
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	harness.VerifyNoLeaks(t, harness.EmbeddedEtcdLifetime...)
	direct := dial(t, closedAddr(t))
	good := Config{
		Direct: direct,
		Peers:  func() []string { return nil },
		Token:  testToken,
		Probe:  func(context.Context) error { return nil },
	}
	for name, breakIt := range map[string]func(*Config){
		"no direct":        func(c *Config) { c.Direct = nil },
		"no peers":         func(c *Config) { c.Peers = nil },
		"no token":         func(c *Config) { c.Token = "" },
		"no probe":         func(c *Config) { c.Probe = nil },
		"negative timeout": func(c *Config) { c.ProbeTimeout = -time.Second },
	} {
		cfg := good
		breakIt(&cfg)
		sw, err := New(cfg)
		if err == nil {
			sw.Close()
		}
		if err == nil || !strings.HasPrefix(err.Error(), "relay: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	sw, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	sw.Close()
}

// TestSwitchRelaysOnlyWhereEtcdAnswers: with a relay probe, a Switch whose
// direct path fails stays direct while etcd does not answer through its
// peer either (an etcd too slow for every herald), and goes to the relay
// as soon as it does.
func TestSwitchRelaysOnlyWhereEtcdAnswers(t *testing.T) {
	f := newFixture(t, func(cfg *Config) { cfg.ProbeRelay = PathProbe })
	ctx := harness.Context(t, waitLimit)
	// A peer whose own path to etcd the test cuts too.
	peerFwd := startForwarder(t, etcdAddr(t))
	peerEtcd := dial(t, peerFwd.addr())
	f.setPeers("http://" + startServer(t, grpc.NewServer(grpc.UnknownServiceHandler(Handler(peerEtcd, testToken, testLogger(t))))))
	peerFwd.setCut(true)
	f.fwd.setCut(true)
	for range 4 {
		f.clock.probe(t)
	}
	if f.sw.Relaying() {
		t.Fatal("relaying through a peer that etcd does not answer either")
	}
	peerFwd.setCut(false)
	waitReady(t, ctx, peerEtcd)
	f.clock.probe(t)
	if !f.sw.Relaying() {
		t.Fatal("not relaying once etcd answers through the peer")
	}
	if r := <-f.switched; !r {
		t.Fatal("OnSwitch(false) on the way to the relay")
	}
	if _, err := pb.NewKVClient(f.sw).Put(ctx, &pb.PutRequest{Key: uniqueKey(t), Value: []byte("relayed")}); err != nil {
		t.Fatalf("put while relaying: %v", err)
	}
	if st := f.sw.Stats(); st.Switches != 1 || st.RelayedCalls != 1 {
		t.Fatalf("stats %+v: want one switch and the put relayed", st)
	}
}

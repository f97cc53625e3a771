package proxy_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/internal/loopback"
	"github.com/heraldproj/herald/internal/startup"
	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/proxy"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream/etcd"
)

// env is one real etcd member (embedded, in this process), herald's proxy in
// front of it, and a client of each.
type env struct {
	etcdURL   string
	proxyAddr string
	up        *etcd.Client
	srv       *proxy.Server
	stop      func() // stops the herald: srv, its start, offloader and hub
	direct    *clientv3.Client
	viaHerald *clientv3.Client
}

func newClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	// A large send limit, so that size limits are the servers', not the client's.
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, MaxCallSendMsgSize: 8 << 20, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startEnv starts etcd and herald with lease offloading on, as `herald
// start` runs by default.
func startEnv(t *testing.T) *env {
	t.Helper()
	e := startEtcd(t)
	e.startHerald(t, "herald-test", defaultOffload())
	return e
}

// startEtcd starts etcd alone; startHerald adds a herald in front of it.
func startEtcd(t *testing.T) *env {
	t.Helper()
	emb := embedded.Start(t)
	return &env{etcdURL: emb.Endpoint(), direct: newClient(t, emb.Endpoint())}
}

// offloadOptions configure a test herald's lease offloading; the zero
// value turns it off (cmd/herald's --lease-offload=false).
type offloadOptions struct {
	Enabled bool
	offload.Options
}

// defaultOffload is lease offloading as `herald start` runs it by default.
func defaultOffload() offloadOptions {
	return offloadOptions{Enabled: true, Options: offload.DefaultOptions()}
}

// heraldOptions are a test herald's: the server's options and what its
// caller builds for it, as cmd/herald's Run does from its Config.
type heraldOptions struct {
	proxy.Options
	Offload offloadOptions // the offloader's; the zero value builds none
	Fanout  hub.Options    // the hub's; no prefixes build none
}

// startHerald starts a herald in front of the env's etcd; a second call
// replaces the first (after stopping it), as a restart would.
func (e *env) startHerald(t *testing.T, name string, offload offloadOptions) {
	t.Helper()
	e.startHeraldWith(t, func(o *heraldOptions) { o.Name, o.Offload = name, offload })
}

// startHeraldWith starts a herald whose options set adjusts.
func (e *env) startHeraldWith(t *testing.T, set func(*heraldOptions)) {
	t.Helper()
	up, err := etcd.Dial(etcd.Config{Endpoints: []string{e.etcdURL}, DialTimeout: 5 * time.Second, MaxRequestBytes: proxy.MaxRequestBytesWithOverhead(proxy.DefaultMaxRequestBytes)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	opts := heraldOptions{Options: proxy.Options{
		Upstream:            up,
		AdvertiseClientURLs: []string{"http://" + addr},
		Logger:              slog.New(slog.DiscardHandler),
	}}
	set(&opts)
	h := newHerald(t, opts)
	h.start(harness.Context(t, harness.DefaultPatience))
	go h.srv.Serve(lis)
	lb, err := loopback.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Close() })
	h.srv.SetLoopback(lb.Election, lb.Lock)
	e.proxyAddr, e.up, e.srv, e.stop, e.viaHerald = addr, up, h.srv, h.stop, newClient(t, addr)
}

// herald is a test herald: its server and what its caller owns beside it.
type herald struct {
	srv     *proxy.Server
	off     *offload.Offloader // nil with lease offloading off
	hub     *hub.Hub           // nil without fan-out prefixes
	starter *startup.Starter   // set by start
	once    sync.Once
}

// newHerald builds the offloader and the hub that opts configure and a
// server that serves them, as cmd/herald's Run does; start brings them up.
// The herald stops when t ends, if it was not stopped before.
func newHerald(t *testing.T, opts heraldOptions) *herald {
	t.Helper()
	h := &herald{}
	t.Cleanup(h.stop)
	o := opts.Options
	if opts.Offload.Enabled {
		oo := opts.Offload.Options
		oo.Name = o.Name
		if len(o.AdvertiseClientURLs) > 0 {
			oo.URL = o.AdvertiseClientURLs[0]
		}
		off, err := offload.New(oo, o.Upstream, o.Registerer, o.Logger)
		if err != nil {
			t.Fatal(err)
		}
		h.off, o.Offloader = off, off
	}
	if len(opts.Fanout.Prefixes) > 0 {
		m, err := hub.NewMetrics(o.Registerer)
		if err != nil {
			t.Fatal(err)
		}
		fo := opts.Fanout
		if o.MaxRequestBytes <= 0 {
			o.MaxRequestBytes = proxy.DefaultMaxRequestBytes
		}
		fo.MaxResponseBytes = proxy.MaxRequestBytesWithOverhead(o.MaxRequestBytes)
		hb, err := hub.New(hub.Config{Options: fo, Name: o.Name, KV: o.Upstream, Watch: o.Upstream, Metrics: m, Logger: o.Logger})
		if err != nil {
			t.Fatal(err)
		}
		h.hub, o.Hub = hb, hb
	}
	srv, err := proxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	return h
}

// start tries the offloader and the hub once, and leaves what etcd did
// not let start to the background (internal/startup).
func (h *herald) start(ctx context.Context) {
	var parts []startup.Part
	if h.off != nil {
		parts = append(parts, h.off)
	}
	if h.hub != nil {
		parts = append(parts, h.hub)
	}
	h.starter = startup.Start(ctx, parts...)
}

// stop stops the server, then the background start, then closes the hub
// and the offloader (which revokes its session). It may be called more
// than once.
func (h *herald) stop() {
	h.once.Do(func() {
		if h.srv != nil {
			h.srv.Stop()
		}
		if h.starter != nil {
			h.starter.Stop()
		}
		if h.hub != nil {
			h.hub.Close()
		}
		if h.off != nil {
			h.off.Close()
		}
	})
}

// errString renders an error as a client sees it, for comparing herald's
// answers with etcd's.
func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T: %v", err, err)
}

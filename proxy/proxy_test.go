package proxy_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/heraldproj/herald/internal/loopback"
	"github.com/heraldproj/herald/proxy"
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
	e.startHerald(t, "herald-test", proxy.DefaultOffloadOptions())
	return e
}

// startEtcd starts etcd alone; startHerald adds a herald in front of it.
func startEtcd(t *testing.T) *env {
	t.Helper()
	emb := embedded.Start(t)
	return &env{etcdURL: emb.Endpoint(), direct: newClient(t, emb.Endpoint())}
}

// startHerald starts a herald in front of the env's etcd; a second call
// replaces the first (after stopping it), as a restart would.
func (e *env) startHerald(t *testing.T, name string, offload proxy.OffloadOptions) {
	t.Helper()
	e.startHeraldWith(t, func(o *proxy.Options) { o.Name, o.Offload = name, offload })
}

// startHeraldWith starts a herald whose options set adjusts.
func (e *env) startHeraldWith(t *testing.T, set func(*proxy.Options)) {
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
	opts := proxy.Options{
		Upstream:            up,
		AdvertiseClientURLs: []string{"http://" + addr},
		Logger:              slog.New(slog.DiscardHandler),
	}
	set(&opts)
	srv, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	lb, err := loopback.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Close() })
	srv.SetLoopback(lb.Election, lb.Lock)
	e.proxyAddr, e.up, e.srv, e.viaHerald = addr, up, srv, newClient(t, addr)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// errString renders an error as a client sees it, for comparing herald's
// answers with etcd's.
func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T: %v", err, err)
}

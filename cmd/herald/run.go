package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldproj/herald/gossip"
	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/internal/loopback"
	"github.com/heraldproj/herald/internal/startup"
	"github.com/heraldproj/herald/proxy"
	"github.com/heraldproj/herald/upstream"
)

// Run starts herald as cfg (validated by loadConfig) says and serves until
// ctx ends, then stops gracefully; a fatal error ends it sooner. Whatever
// it started (the embedded etcd, the fleet, the server and its lease
// offload and fan-out, the listeners) is stopped before it returns, on
// every path: tests run it in-process, one after another.
func Run(ctx context.Context, c Config) error {
	cfg := &c
	log := newLogger(cfg.LogLevel)
	if cfg.ClientCRLFile != "" && cfg.TrustedCAFile == "" {
		// grpc-proxy accepts it too; say that it checks nothing.
		log.Warn("--client-crl-file has no effect without --trusted-ca-file: clients are asked for no certificate to check")
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	// Every metric of this run goes to reg, and /metrics serves reg.
	reg := newRegistry()
	metricsHTTP := metricsHandler(reg)

	endpoints := cfg.Endpoints
	var embeddedErr <-chan error
	if len(endpoints) == 0 {
		emb, err := embedetcd.Start(embedetcd.Config{
			DataDir:         cfg.DataDir,
			ClientAddr:      cfg.EmbeddedClientAddr,
			PeerAddr:        cfg.EmbeddedPeerAddr,
			MaxRequestBytes: uint(cfg.MaxRequestBytes),
			Logger:          log,
		})
		if err != nil {
			return err
		}
		defer emb.Close()
		endpoints = []string{emb.Endpoint()}
		embeddedErr = emb.Err()
		log.Info("no upstream configured: started an embedded etcd", "endpoint", emb.Endpoint(), "data-dir", cfg.DataDir)
	}

	up, etcdUp, err := dialUpstream(ctx, cfg, endpoints, reg, log)
	if err != nil {
		return err
	}
	defer up.Close()

	listenTLS, err := listenTLSInfo(cfg, log)
	if err != nil {
		return err
	}
	clientTLS, err := serverTLS(cfg, listenTLS)
	if err != nil {
		return err
	}
	peersTLS, err := peerTLS(cfg, listenTLS)
	if err != nil {
		return err
	}
	fleet, err := joinFleet(cfg, reg, log)
	if err != nil {
		return err
	}
	var (
		members func() []proxy.FleetMember
		bus     *gossip.Bus // nil for a herald on its own
	)
	token, err := relayToken(cfg)
	if err != nil {
		return err
	}
	// srv is set once the server exists; the relay's goroutine may ask it
	// things before.
	var srvp atomic.Pointer[proxy.Server]
	if fleet != nil {
		defer fleet.Close()
		members = fleet.Heralds
		bus = gossip.NewBus(fleet)
		defer bus.Close()
	}
	// Relaying through peer heralds carries etcd's gRPC calls; a herald on
	// ZooKeeper keeps its own session instead.
	if fleet != nil && etcdUp != nil {
		answered := func(d time.Duration) bool {
			srv := srvp.Load()
			return srv != nil && srv.UpstreamAnsweredWithin(d)
		}
		sw, err := relayThrough(etcdUp, fleet, cfg.Name, token, cfg.SessionTTL, peersTLS, answered, func(relaying bool) {
			if srv := srvp.Load(); srv != nil {
				srv.UpstreamPathChanged(relaying)
			}
		}, reg, log.With("area", "relay"))
		if err != nil {
			return err
		}
		defer sw.Close()
	}
	// What the server serves with: the lease offloader and the fan-out hub,
	// each nil when it is off. They are closed after the server stops.
	// etcd's answers to the offloader's keepalives carry its revision: the
	// feeds' heartbeats are cut from it instead of asking etcd for progress
	// (fanout/feed). ZooKeeper's answers carry no such revision.
	var witness *upstream.Witness
	if etcdUp != nil {
		witness = new(upstream.Witness)
	}
	off, err := newOffloader(cfg, up, bus, witness, reg, log)
	if err != nil {
		return err
	}
	if off != nil {
		defer off.Close()
	}
	fan, err := newHub(cfg, up, bus, witness, reg, log)
	if err != nil {
		return err
	}
	if fan != nil {
		defer fan.Close()
	}
	opts := proxy.Options{
		Upstream:            up,
		Name:                cfg.Name,
		AdvertiseClientURLs: cfg.AdvertiseClientURLs,
		MaxRequestBytes:     cfg.MaxRequestBytes,
		FleetMembers:        members,
		Offloader:           off,
		AuthTokenTTL:        time.Duration(cfg.AuthTokenTTL) * time.Second,
		Hub:                 fan,
		PeerTLS:             peersTLS,
		RelayToken:          token,
		Registerer:          reg,
		Logger:              log,
	}
	if etcdUp != nil {
		opts.RelayUpstream = etcdUp.Direct()
	}
	srv, err := proxy.New(opts)
	if err != nil {
		return err
	}
	srvp.Store(srv)
	// Every return below stops the server, unless it was stopped
	// gracefully; the background start stops before it. Then Run waits
	// for the goroutine that served the client port (its Serve has
	// returned once the server stopped and the port closed).
	var served chan struct{}
	defer func() {
		if served != nil {
			<-served
		}
	}()
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	if err := exportState(reg, srv, fleetSizeOf(members)); err != nil {
		return err
	}

	// Bind every port before anything is announced: a port in use stops
	// herald before it logs that it serves.
	pages := opsPages{metrics: metricsHTTP, status: newStatusPage(srv, cfg.AdvertiseClientURLs, members, peersTLS)}
	if fleet != nil {
		pages.joined = fleet.Membership.Joined
	}
	port, err := listenClients(cfg.ListenAddr, clientTLS, srv, pages)
	if err != nil {
		return err
	}
	defer port.close()
	var metrics *metricsPort
	if cfg.MetricsAddr != "" {
		if metrics, err = listenMetrics(cfg.MetricsAddr, srv, pages, cfg.EnablePprof); err != nil {
			return err
		}
		defer metrics.close()
	}

	// A first try at what needs etcd (lease offload, fan-out); if etcd is
	// not ready, herald serves anyway and keeps trying in the background.
	startCtx, cancelStart := context.WithTimeout(ctx, 10*time.Second)
	starter := startup.Start(startCtx, startParts(off, fan)...)
	cancelStart()
	defer starter.Stop()

	// With virtual leases, v3lock and v3election must run on herald's own
	// KV and Lease services (etcd would not know the leases). Over client
	// TLS that would need a client certificate, so they stay forwarded.
	// The loopback is installed before the first client is served; its
	// client connects lazily, once the port serves.
	if cfg.LeaseOffload && !cfg.servesTLS() {
		lb, err := loopback.Dial(port.addr().String())
		if err != nil {
			return err
		}
		defer lb.Close()
		srv.SetLoopback(lb.Election, lb.Lock)
	}

	serveErr := make(chan error, 1)
	served = make(chan struct{})
	go func() { defer close(served); serveErr <- port.serve(srv, log) }()
	if metrics != nil {
		metrics.start(log)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
		srv.GracefulStop(5 * time.Second)
		stopped = true
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case err := <-embeddedErr:
		return fmt.Errorf("embedded etcd: %w", err)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated already
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// metricsPort serves opsMux on --metrics-addr.
type metricsPort struct {
	lis     net.Listener
	srv     *http.Server
	serving sync.WaitGroup // start's goroutine; close waits for it
}

// listenMetrics binds --metrics-addr; serve starts answering.
func listenMetrics(addr string, srv *proxy.Server, pages opsPages, pprof bool) (*metricsPort, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --metrics-addr %s: %w", addr, err)
	}
	return &metricsPort{lis: lis, srv: &http.Server{Handler: opsMux(srv, pages, pprof), ReadHeaderTimeout: 5 * time.Second}}, nil
}

// start serves the port on a goroutine of its own until close.
func (m *metricsPort) start(log *slog.Logger) {
	m.serving.Add(1)
	go func() {
		defer m.serving.Done()
		if err := m.srv.Serve(m.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
}

// close stops serving, releases the port even if start never ran, and
// waits for start's goroutine.
func (m *metricsPort) close() {
	m.srv.Close()
	m.lis.Close()
	m.serving.Wait()
}

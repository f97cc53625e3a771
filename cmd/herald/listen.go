package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/soheilhy/cmux"

	"github.com/heraldproj/herald/proxy"
)

// clientPort is herald's --listen-addr as etcd grpc-proxy serves it: gRPC
// and, on the same port, HTTP — /health (etcd through herald), /proxy/health
// (herald itself: its lease offload and fan-out are up), /metrics and
// /proxy/metrics (herald's metrics), and the rest of opsMux (/status.json
// is where peers ask for a herald's status). With
// client TLS, TLS ends at the listener and both protocols run inside it.
type clientPort struct {
	root  net.Listener // closed by close: cmux closes it only when Serve ran
	mux   cmux.CMux
	grpc  net.Listener
	http  *http.Server
	httpL net.Listener
	// serving counts serve's HTTP and cmux goroutines; close waits for them.
	serving sync.WaitGroup
}

// listenClients binds --listen-addr. tlsCfg, when set, is the TLS clients
// get (gRPC then runs without transport credentials of its own); pages
// are the run's /metrics and /status.
func listenClients(addr string, tlsCfg *tls.Config, srv *proxy.Server, pages opsPages) (*clientPort, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --listen-addr %s: %w", addr, err)
	}
	var httpMatch cmux.Matcher = cmux.HTTP1()
	if tlsCfg != nil {
		tlsCfg = tlsCfg.Clone()
		// gRPC clients require ALPN "h2"; curl and browsers may use either.
		tlsCfg.NextProtos = slices.Compact(append([]string{"h2", "http/1.1"}, tlsCfg.NextProtos...))
		lis = tls.NewListener(lis, tlsCfg)
		// Inside TLS an HTTP/2 health check looks like gRPC; whatever is not
		// HTTP/2 is HTTP, as grpc-proxy matches it.
		httpMatch = cmux.Any()
	}
	m := cmux.New(lis)
	p := &clientPort{root: lis, mux: m, grpc: m.Match(cmux.HTTP2()), httpL: m.Match(httpMatch)}
	p.http = &http.Server{Handler: opsMux(srv, pages, false), ReadHeaderTimeout: 5 * time.Second}
	return p, nil
}

// serve runs gRPC (srv) and HTTP on the port until close; it returns the
// first error that is not the port being closed.
func (p *clientPort) serve(srv *proxy.Server, log *slog.Logger) error {
	p.serving.Add(2)
	go func() {
		defer p.serving.Done()
		if err := p.http.Serve(p.httpL); err != nil && !closed(err) {
			log.Warn("HTTP on the client port stopped", "err", err)
		}
	}()
	go func() {
		defer p.serving.Done()
		if err := p.mux.Serve(); err != nil && !closed(err) {
			log.Warn("client port stopped accepting", "err", err)
		}
	}()
	return srv.Serve(p.grpc)
}

// close stops HTTP and the port's listener (gRPC is stopped by its server),
// and waits for serve's HTTP and cmux goroutines to end.
func (p *clientPort) close() {
	p.http.Close()
	p.mux.Close()
	p.root.Close()
	p.serving.Wait()
}

// addr is the bound address.
func (p *clientPort) addr() net.Addr { return p.grpc.Addr() }

// heraldReady is herald's own health: what needs etcd's cooperation (lease
// offload, fan-out) is up.
func heraldReady(srv *proxy.Server) (bool, string) {
	offload, fanout := srv.Ready()
	switch {
	case !offload:
		return false, "lease offload is not up yet"
	case !fanout:
		return false, "fan-out cache is not loaded yet"
	}
	return true, ""
}

// closed reports whether err only says that the port was closed (a normal
// shutdown).
func closed(err error) bool {
	return errors.Is(err, http.ErrServerClosed) || errors.Is(err, cmux.ErrListenerClosed) ||
		errors.Is(err, cmux.ErrServerClosed) || errors.Is(err, net.ErrClosed)
}

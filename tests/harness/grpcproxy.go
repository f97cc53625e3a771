package harness

import (
	"path/filepath"
	"strings"
	"testing"
)

// GRPCProxy is an `etcd grpc-proxy start` process, the baseline herald is
// compared against.
type GRPCProxy struct {
	*Proc
	endpoint   string
	metricsURL string
}

// StartGRPCProxy runs etcd's gRPC proxy (from the same etcd binary) in front of
// endpoints on free 127.0.0.1 ports and waits until its /health answers 200.
func StartGRPCProxy(t testing.TB, endpoints []string) *GRPCProxy {
	t.Helper()
	bins := Binaries(t)
	dir := t.TempDir()
	listen := FreeAddr(t)
	p := &GRPCProxy{endpoint: "http://" + listen, metricsURL: "http://" + FreeAddr(t)}
	args := []string{
		"grpc-proxy", "start",
		"--endpoints", strings.Join(hostPorts(endpoints), ","),
		"--listen-addr", listen,
		"--advertise-client-url", listen,
		"--metrics-addr", p.metricsURL,
		"--data-dir", filepath.Join(dir, "proxy"),
	}
	p.Proc = newProc(t, "etcd grpc-proxy", bins.Etcd, args, filepath.Join(dir, "grpc-proxy.log"))
	if err := waitHealthy(p.Proc, p.metricsURL+"/health"); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return p
}

// Endpoint is the proxy's client URL.
func (p *GRPCProxy) Endpoint() string { return p.endpoint }

// MetricsURL is the base URL that serves the proxy's /metrics and /health.
func (p *GRPCProxy) MetricsURL() string { return p.metricsURL }

// hostPorts strips the scheme from URLs ("http://127.0.0.1:2379" →
// "127.0.0.1:2379"), the form etcd's grpc-proxy expects.
func hostPorts(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		_, rest, found := strings.Cut(u, "://")
		if !found {
			rest = u
		}
		out[i] = rest
	}
	return out
}

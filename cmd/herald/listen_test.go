package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/soheilhy/cmux"

	"github.com/heraldproj/herald/tests/harness"
)

// get fetches url and returns the status and body.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestClientPortServesHTTP: as etcd grpc-proxy, herald answers /health,
// /proxy/health and /metrics on its client port, next to gRPC, in plain
// text and inside TLS.
func TestClientPortServesHTTP(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	for _, tc := range []struct {
		name   string
		args   []string
		scheme string
		client *http.Client
	}{
		{"plain", nil, "http", http.DefaultClient},
		{"auto-tls", []string{"--auto-tls"}, "https", &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startHerald(t, append([]string{"--endpoints", up.Endpoints()[0]}, tc.args...)...)
			base := tc.scheme + "://" + addr
			healthy := func(path string) bool {
				code, body := get(t, tc.client, base+path)
				var h struct{ Health string }
				return code == http.StatusOK && json.Unmarshal([]byte(body), &h) == nil && h.Health == "true"
			}
			// /health is etcd's health through herald, true once herald's
			// first probe of etcd has answered; /proxy/health is herald's
			// own, true once its lease offload is up.
			for _, path := range []string{"/health", "/proxy/health"} {
				harness.WaitUntil(t, "GET "+path+" to say healthy", harness.DefaultPatience, func() bool { return healthy(path) })
			}
			for _, path := range []string{"/livez", "/readyz"} {
				if code, body := get(t, tc.client, base+path); code != http.StatusOK || body != "ok\n" {
					t.Errorf("GET %s: %d %q, want 200 ok", path, code, body)
				}
			}
			if code, body := get(t, tc.client, base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "herald_lease_offload_ready") {
				t.Errorf("GET /metrics: %d, %d bytes without herald's metrics", code, len(body))
			}
			if code, _ := get(t, tc.client, base+"/nothing"); code != http.StatusNotFound {
				t.Errorf("GET /nothing: %d", code)
			}
			var tlsCfg *tls.Config
			if tc.scheme == "https" {
				tlsCfg = &tls.Config{InsecureSkipVerify: true}
			}
			if err := roundTrip(addr, tlsCfg); err != nil {
				t.Fatalf("gRPC on the same port: %v", err)
			}
		})
	}
}

// TestProbesWhileEtcdIsUnreachable: with etcd out of reach herald is alive
// (a liveness probe must not restart it for etcd's sake) and not ready.
func TestProbesWhileEtcdIsUnreachable(t *testing.T) {
	addr := startHerald(t, "--endpoints", "http://"+harness.FreeAddr(t))
	if code, body := get(t, http.DefaultClient, "http://"+addr+"/livez"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /livez: %d %q, want 200 ok", code, body)
	}
	code, body := get(t, http.DefaultClient, "http://"+addr+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "[-]") {
		t.Errorf("GET /readyz: %d %q, want 503 with the failed check", code, body)
	}
}

// TestReadyzWaitsForTheFleet: a herald whose seeds have not answered
// serves (etcd through it is healthy) but is not ready: a load balancer
// keeps its clients away until it is part of the fleet whose leases and
// fan-out it serves.
func TestReadyzWaitsForTheFleet(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	keyFile := filepath.Join(t.TempDir(), "fleet.key")
	if err := os.WriteFile(keyFile, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startHerald(t, "--endpoints", up.Endpoints()[0], "--gossip-addr", harness.FreeAddr(t),
		"--join", harness.FreeAddr(t), "--gossip-key-file", keyFile)
	harness.WaitUntil(t, "GET /health to say healthy", harness.DefaultPatience, func() bool {
		code, _ := get(t, http.DefaultClient, "http://"+addr+"/health")
		return code == http.StatusOK
	})
	code, body := get(t, http.DefaultClient, "http://"+addr+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not in the fleet yet") {
		t.Errorf("GET /readyz with no seed answering: %d %q, want 503 naming the fleet", code, body)
	}
}

// TestClosedPortErrorsAreNotWarnings: what the client port's servers return
// when herald closes the port is a normal shutdown, not a warning.
func TestClosedPortErrorsAreNotWarnings(t *testing.T) {
	for _, err := range []error{http.ErrServerClosed, cmux.ErrListenerClosed, cmux.ErrServerClosed, net.ErrClosed} {
		if !closed(fmt.Errorf("serve: %w", err)) {
			t.Errorf("%v is taken for a failure", err)
		}
	}
	if closed(errors.New("accept: too many open files")) {
		t.Error("a real accept error is taken for a shutdown")
	}
}

// ownFamilies are the metric name prefixes herald exports: its own, and the
// Go runtime's and the process's.
var ownFamilies = []string{"herald_", "go_", "process_"}

func isOwnFamily(name string) bool {
	for _, p := range ownFamilies {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// TestMetricsAreHeraldsOwn: /metrics exports herald's families and the Go
// runtime's, never the etcd packages' that herald links (with the embedded
// etcd they would count the embedded etcd's requests as herald's; with
// --endpoints they would show an etcd without a leader). The embedded etcd
// registers them on Prometheus's default registry, in this very process.
func TestMetricsAreHeraldsOwn(t *testing.T) {
	addr := startHerald(t, "--embedded-client-addr", harness.FreeAddr(t), "--embedded-peer-addr", harness.FreeAddr(t))
	code, body := get(t, http.DefaultClient, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	var own, foreign []string
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		name := strings.Fields(line)[2]
		if isOwnFamily(name) {
			own = append(own, name)
		} else {
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		t.Errorf("families that are not herald's: %v", foreign)
	}
	if !slices.Contains(own, "herald_fanout_ready") || !slices.Contains(own, "go_goroutines") {
		t.Errorf("herald's and Go's families missing from %v", own)
	}
	if strings.Contains(body, "etcd_server_has_leader") {
		t.Error("etcd_server_has_leader is exported")
	}
}

// TestBusyMetricsPortStopsHeraldBeforeServing: every port is bound before
// herald starts serving, so a metrics port in use ends run with an error
// naming it, and the client port it had bound is released.
func TestBusyMetricsPortStopsHeraldBeforeServing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	client := harness.FreeAddr(t)
	cfg, err := load(t, "--listen-addr", client, "--metrics-addr", busy.Addr().String(), "--data-dir", t.TempDir(),
		"--endpoints", up.Endpoints()[0], "--log-level", "error", "--lease-offload=false")
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), *cfg)
	if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Fatalf("run with a busy metrics port: %v", err)
	}
	lis, err := net.Listen("tcp", client)
	if err != nil {
		t.Fatalf("the client port is still held after run returned: %v", err)
	}
	lis.Close()
}

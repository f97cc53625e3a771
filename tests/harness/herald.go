package harness

import (
	"path/filepath"
	"strings"
	"testing"
)

// HeraldOptions configures StartHerald. The zero value runs herald on its
// embedded etcd.
type HeraldOptions struct {
	// Endpoints are the upstream etcd client URLs; empty starts herald's
	// embedded etcd (on free ports).
	Endpoints []string
	// Name is herald's --name (default "herald").
	Name string
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// Herald is a `herald start` process.
type Herald struct {
	*Proc
	endpoint   string
	metricsURL string
}

// StartHerald runs bin/herald start on free 127.0.0.1 ports (client, metrics,
// and the embedded etcd's when opts.Endpoints is empty), logging at debug level
// into the test's temp dir, and waits until its /health answers 200 (herald
// reaches its upstream). It is stopped by PID when t ends.
func StartHerald(t testing.TB, opts HeraldOptions) *Herald {
	t.Helper()
	bins := Binaries(t)
	if bins.heraldErr != nil {
		t.Fatalf("harness: herald is not buildable: %v", bins.heraldErr)
	}
	dir := t.TempDir()
	name := opts.Name
	if name == "" {
		name = "herald"
	}
	listen := FreeAddr(t)
	metrics := FreeAddr(t)
	h := &Herald{endpoint: "http://" + listen, metricsURL: "http://" + metrics}
	args := []string{
		"start",
		"--name", name,
		"--listen-addr", listen,
		"--advertise-client-url", h.endpoint,
		"--metrics-addr", metrics,
		"--data-dir", filepath.Join(dir, name+".data"),
		"--log-level", "debug",
	}
	if len(opts.Endpoints) > 0 {
		args = append(args, "--endpoints", strings.Join(opts.Endpoints, ","))
	} else {
		args = append(args, "--embedded-client-addr", FreeAddr(t), "--embedded-peer-addr", FreeAddr(t))
	}
	args = append(args, opts.ExtraArgs...)
	h.Proc = newProc(t, "herald "+name, bins.Herald, args, filepath.Join(dir, name+".log"))
	if err := h.waitHealthy(); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return h
}

// Endpoint is herald's client URL (http://127.0.0.1:PORT), also its advertised
// client URL.
func (h *Herald) Endpoint() string { return h.endpoint }

// MetricsURL is the base URL that serves herald's /metrics and /health.
func (h *Herald) MetricsURL() string { return h.metricsURL }

// Restart stops herald (SIGTERM, then SIGKILL) if it runs, starts it again with
// the same arguments and data dir, and waits until it is healthy.
func (h *Herald) Restart() {
	h.t.Helper()
	h.Proc.Restart()
	if err := h.waitHealthy(); err != nil {
		h.t.Fatalf("harness: %v", err)
	}
}

func (h *Herald) waitHealthy() error {
	return waitHealthy(h.Proc, h.metricsURL+"/health")
}

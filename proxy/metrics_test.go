package proxy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/proxy"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream/etcd"
)

// metricValue reads the sample of the family name whose labels include
// labels (name=value pairs) from reg; ok is false when there is none.
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) (v float64, ok bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

// startWithRegistry starts a herald with lease offloading and the fan-out
// of /services/ in front of e's etcd, its metrics on a registry of its own,
// and returns that registry and a client of the herald.
func (e *env) startWithRegistry(t *testing.T, name string) (*prometheus.Registry, *clientv3.Client) {
	t.Helper()
	reg := prometheus.NewRegistry()
	e.startHeraldWith(t, func(o *heraldOptions) {
		o.Name, o.Offload, o.Registerer = name, defaultOffload(), reg
		o.Fanout.Prefixes = []string{"/services/"}
	})
	return reg, e.viaHerald
}

// TestServerMetricsArePerServer: two servers of one process each register
// their metrics on their own registry, and each counts only its own
// requests and leases.
func TestServerMetricsArePerServer(t *testing.T) {
	e := startEtcd(t)
	regA, a := e.startWithRegistry(t, "herald-a")
	regB, _ := e.startWithRegistry(t, "herald-b")
	ctx := harness.Context(t, harness.DefaultPatience)
	if _, err := a.Put(ctx, "/services/a", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Grant(ctx, 30); err != nil {
		t.Fatal(err)
	}
	put := []string{"method", "/etcdserverpb.KV/Put", "code", "OK"}
	if v, _ := metricValue(t, regA, "herald_proxy_requests_total", put...); v != 1 {
		t.Errorf("herald-a counts %v puts, want 1", v)
	}
	if v, ok := metricValue(t, regB, "herald_proxy_requests_total", put...); ok {
		t.Errorf("herald-b counts %v puts of herald-a", v)
	}
	if v, _ := metricValue(t, regA, "herald_lease_virtual_leases"); v != 1 {
		t.Errorf("herald-a holds %v virtual leases, want 1", v)
	}
	if v, ok := metricValue(t, regB, "herald_lease_virtual_leases"); !ok || v != 0 {
		t.Errorf("herald-b holds %v virtual leases (exported: %v), want 0", v, ok)
	}
}

// TestReadinessGauges: herald_lease_offload_ready and herald_fanout_ready
// are 0 until Start has brought offloading and the fan-out up, then 1.
func TestReadinessGauges(t *testing.T) {
	e := startEtcd(t)
	up, err := etcd.Dial(etcd.Config{Endpoints: []string{e.etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	reg := prometheus.NewRegistry()
	opts := heraldOptions{Options: proxy.Options{Upstream: up, Name: "herald-ready", Registerer: reg}, Offload: defaultOffload()}
	opts.Fanout.Prefixes = []string{"/services/"}
	h := newHerald(t, opts)
	gauges := []string{"herald_lease_offload_ready", "herald_fanout_ready"}
	for _, g := range gauges {
		if v, ok := metricValue(t, reg, g); !ok || v != 0 {
			t.Errorf("before Start: %s = %v (exported: %v), want 0", g, v, ok)
		}
	}
	h.start(harness.Context(t, harness.DefaultPatience))
	// Start may leave what etcd did not let start at once to the
	// background.
	for _, g := range gauges {
		harness.WaitUntil(t, g+" to be 1 after Start", harness.DefaultPatience, func() bool {
			v, _ := metricValue(t, reg, g)
			return v == 1
		})
	}
}

// TestFanoutMetricsFollowTheCache: the fan-out figures of a running
// server move with its cache: a watcher served from it, the events of
// writes in its window, its revision.
func TestFanoutMetricsFollowTheCache(t *testing.T) {
	e := startEtcd(t)
	reg, cli := e.startWithRegistry(t, "herald-fanout")
	value := func(name string) float64 {
		v, ok := metricValue(t, reg, name)
		if !ok {
			t.Fatalf("%s is not exported", name)
		}
		return v
	}
	// A herald on its own is its own feeder, once its feed runs.
	harness.WaitUntil(t, "herald_fanout_feeding to be 1", harness.DefaultPatience, func() bool {
		return value("herald_fanout_feeding") == 1
	})
	ctx := harness.Context(t, harness.DefaultPatience)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wc := cli.Watch(wctx, "/services/", clientv3.WithPrefix())
	harness.WaitUntil(t, "a watcher and its stream in the cache's figures", harness.DefaultPatience, func() bool {
		return value("herald_fanout_watchers") == 1 && value("herald_fanout_streams") == 1
	})
	var last int64
	for i := range 3 {
		put, err := e.direct.Put(ctx, fmt.Sprintf("/services/k%d", i), "value")
		if err != nil {
			t.Fatal(err)
		}
		last = put.Header.Revision
	}
	for seen := 0; seen < 3; {
		resp, ok := <-wc
		if !ok {
			t.Fatalf("watch ended after %d events", seen)
		}
		seen += len(resp.Events)
	}
	if v := value("herald_fanout_revision"); v < float64(last) {
		t.Errorf("herald_fanout_revision = %v after the watcher saw revision %d", v, last)
	}
	if v := value("herald_fanout_window_events"); v < 3 {
		t.Errorf("herald_fanout_window_events = %v after 3 puts", v)
	}
	if v := value("herald_fanout_window_bytes"); v <= 0 {
		t.Errorf("herald_fanout_window_bytes = %v after 3 puts", v)
	}
	if start := value("herald_fanout_window_start_revision"); start > float64(last-2) {
		t.Errorf("herald_fanout_window_start_revision = %v: the window misses the puts from revision %d", start, last-2)
	}
	cancel()
	harness.WaitUntil(t, "the cancelled watcher to leave the cache's figures", harness.DefaultPatience, func() bool {
		return value("herald_fanout_watchers") == 0
	})
}

package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestRunStopsWhatItStartedWhenItFails: a herald that cannot listen returns
// why, and leaves nothing running of what it had started before: the
// server, the fan-out it had loaded from etcd, the upstream connection.
func TestRunStopsWhatItStartedWhenItFails(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg, err := load(t, "--endpoints", up.Endpoints()[0], "--listen-addr", taken.Addr().String(), "--metrics-addr", "",
		"--data-dir", t.TempDir(), "--lease-offload=false", "--fanout-prefix", "/services/", "--log-level", "error")
	if err != nil {
		t.Fatal(err)
	}
	harness.VerifyNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	err = Run(ctx, *cfg)
	if err == nil || !strings.Contains(err.Error(), "--listen-addr "+taken.Addr().String()) {
		t.Fatalf("Run on a taken address: %v; want the listen error", err)
	}
}

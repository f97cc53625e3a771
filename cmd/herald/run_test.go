package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
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
	err = runFailing(t, "--endpoints", up.Endpoints()[0], "--listen-addr", taken.Addr().String(), "--metrics-addr", "",
		"--data-dir", t.TempDir(), "--lease-offload=false", "--fanout-prefix", "/services/", "--log-level", "error")
	if err == nil || !strings.Contains(err.Error(), "--listen-addr "+taken.Addr().String()) {
		t.Fatalf("Run on a taken address: %v; want the listen error", err)
	}
}

// TestRunRefusesAnotherFleetKey: a herald whose seeds answer under another
// key exits with a one-line error naming --gossip-key-file (exit code 2),
// rather than run as a fleet of one that feeds itself from etcd.
func TestRunRefusesAnotherFleetKey(t *testing.T) {
	up := harness.StartEtcd(t, harness.EtcdOptions{})
	dir := t.TempDir()
	fleetKey, otherKey := filepath.Join(dir, "fleet.key"), filepath.Join(dir, "other.key")
	for path, b := range map[string]byte{fleetKey: 1, otherKey: 2} {
		if err := os.WriteFile(path, bytes.Repeat([]byte{b}, 32), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key, err := membership.LoadKey(fleetKey)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := membership.New(membership.Config{Name: "seed", BindAddr: "127.0.0.1:0", Key: key,
		Meta: membership.Meta{GRPCAddr: "127.0.0.1:1"}, Profile: membership.Local})
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close(time.Second)

	err = runFailing(t, "--endpoints", up.Endpoints()[0], "--listen-addr", harness.FreeAddr(t), "--metrics-addr", "",
		"--data-dir", t.TempDir(), "--log-level", "error",
		"--gossip-addr", harness.FreeAddr(t), "--join", seed.Addr(), "--gossip-key-file", otherKey)
	var ce *configError
	if !errors.As(err, &ce) || ce.setting != "gossip-key-file" {
		t.Fatalf("Run with another fleet's key: %v; want a --gossip-key-file error", err)
	}
	if code := exitCode(err); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if n := seed.NumMembers(); n != 1 {
		t.Errorf("the seed sees %d members, want itself alone", n)
	}
}

// runFailing runs herald in-process with args, expecting it to fail at
// start, and returns Run's error; the test fails if Run leaves a goroutine
// behind.
func runFailing(t *testing.T, args ...string) error {
	t.Helper()
	cfg, err := load(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	harness.VerifyNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	return Run(ctx, *cfg)
}

package main

import (
	"errors"
	"strings"
	"testing"
)

// TestZooKeeperEndpoints: a zk:// URL, whose server list --endpoints
// splits on its commas, is joined back into one ZooKeeper URL; a bad one,
// etcd endpoints beside it, and the etcd-only flags are refused naming the
// setting, with exit code 2.
func TestZooKeeperEndpoints(t *testing.T) {
	cfg, err := load(t, "--endpoints", "zk://10.0.0.1:2181,10.0.0.2,10.0.0.3:2182/apps/herald")
	if err != nil {
		t.Fatal(err)
	}
	if raw, ok := cfg.zooKeeperURL(); !ok || raw != "zk://10.0.0.1:2181,10.0.0.2,10.0.0.3:2182/apps/herald" {
		t.Errorf("zooKeeperURL() = %q, %v", raw, ok)
	}
	if cfg.FanoutFeeders != 1 {
		t.Errorf("fan-out feeders on ZooKeeper: %d by default, want 1", cfg.FanoutFeeders)
	}
	if cfg, err := load(t, "--endpoints", "zk://h:2181", "--fanout-feeders", "3"); err != nil || cfg.FanoutFeeders != 3 {
		t.Errorf("--fanout-feeders 3 on ZooKeeper: %v, %v", cfg, err)
	}
	if cfg, err := load(t, "--endpoints", "http://10.0.0.1:2379,http://10.0.0.2:2379"); err != nil {
		t.Fatal(err)
	} else if raw, ok := cfg.zooKeeperURL(); ok || cfg.FanoutFeeders != 2 {
		t.Errorf("etcd endpoints: taken for ZooKeeper %v (%q), %d feeders (want 2)", ok, raw, cfg.FanoutFeeders)
	}
	for _, tc := range []struct {
		args    []string
		setting string
	}{
		{[]string{"--endpoints", "zk://"}, "--endpoints"},
		{[]string{"--endpoints", "zk://h:2181?x=1"}, "--endpoints"},
		{[]string{"--endpoints", "zk://h:2181,http://e:2379"}, "--endpoints"},
		{[]string{"--endpoints", "zk://h:2181", "--cacert", "ca.pem"}, "--cacert"},
		{[]string{"--endpoints", "zk://h:2181", "--insecure-skip-tls-verify"}, "--insecure-skip-tls-verify"},
		{[]string{"--endpoints", "zk://h:2181", "--endpoints-auto-sync-interval", "1m"}, "--endpoints-auto-sync-interval"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := load(t, tc.args...)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a configError", err)
			}
			if !strings.Contains(err.Error(), tc.setting) || exitCode(err) != 2 {
				t.Fatalf("%q (exit %d) does not name %s with exit 2", err, exitCode(err), tc.setting)
			}
		})
	}
}

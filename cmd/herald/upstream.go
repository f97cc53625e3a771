package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/proxy"
	"github.com/heraldproj/herald/upstream"
	"github.com/heraldproj/herald/upstream/etcd"
	"github.com/heraldproj/herald/upstream/zookeeper"
)

// The upstream is picked by the endpoints' URL scheme: zk:// is a
// ZooKeeper ensemble, anything else etcd (README, Upstreams).

// zooKeeperURL returns the ZooKeeper URL the endpoints name, if they name
// one. --endpoints splits on commas, and a zk:// URL lists its servers
// with commas: the pieces are joined back.
func (c *Config) zooKeeperURL() (string, bool) {
	if len(c.Endpoints) == 0 || !strings.HasPrefix(c.Endpoints[0], zookeeper.Scheme+"://") {
		return "", false
	}
	return strings.Join(c.Endpoints, ","), true
}

// checkZooKeeper validates a zk:// upstream's configuration: one URL, and
// none of the options that only an etcd upstream has.
func (c *Config) checkZooKeeper(raw string) error {
	if _, err := zookeeper.ParseURL(raw); err != nil {
		return &configError{"endpoints", raw, err.Error()}
	}
	for _, e := range c.Endpoints[1:] {
		if strings.Contains(e, "://") {
			return &configError{"endpoints", raw, "a zk:// URL names one ZooKeeper ensemble: list its servers inside it (zk://h1:2181,h2:2181/chroot), not etcd endpoints beside it"}
		}
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"cacert", c.CACert != ""}, {"cert", c.Cert != ""}, {"key", c.Key != ""},
		{"insecure-skip-tls-verify", c.InsecureSkipTLSVerify},
		{"endpoints-auto-sync-interval", c.EndpointsAutoSyncInterval != 0},
		{"user", c.User != ""}, {"password", c.Password != ""},
	} {
		if f.set {
			return &configError{f.name, "set", "applies to an etcd upstream only, not to ZooKeeper (" + raw + ")"}
		}
	}
	return nil
}

// dialUpstream connects to the configured coordinator; ec is the etcd
// client for an etcd upstream (its calls can be relayed through peer
// heralds), nil for ZooKeeper. etcd is dialed without waiting (herald
// serves and retries); ZooKeeper needs a session first, to create herald's
// znodes, and Dial waits for it until ctx ends.
func dialUpstream(ctx context.Context, cfg *Config, endpoints []string, reg prometheus.Registerer, log *slog.Logger) (up upstream.Upstream, ec *etcd.Client, err error) {
	if raw, ok := cfg.zooKeeperURL(); ok {
		log.Info("upstream: ZooKeeper; waiting for a session", "url", raw)
		zc, err := zookeeper.Dial(ctx, zookeeper.Config{URL: raw, Logger: log.With("area", "zookeeper")})
		if err != nil {
			return nil, nil, fmt.Errorf("upstream: %w", err)
		}
		return zc, nil, nil
	}
	user, password, err := cfg.etcdUser()
	if err != nil {
		return nil, nil, err
	}
	ec, err = etcd.Dial(etcd.Config{
		User:               user,
		Password:           password,
		Endpoints:          endpoints,
		CACert:             cfg.CACert,
		Cert:               cfg.Cert,
		Key:                cfg.Key,
		InsecureSkipVerify: cfg.InsecureSkipTLSVerify,
		AutoSyncInterval:   cfg.EndpointsAutoSyncInterval,
		MaxRequestBytes:    proxy.MaxRequestBytesWithOverhead(cfg.MaxRequestBytes),
		DialTimeout:        5 * time.Second,
		Registerer:         reg,
		Logger:             log,
	})
	if err != nil {
		return nil, nil, err
	}
	return ec, ec, nil
}

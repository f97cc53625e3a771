package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/gossip"
	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/upstream/etcd"
	"github.com/heraldproj/herald/upstream/relay"
)

// relayTiming is the relay's probe timing for a fleet session of
// sessionTTL seconds (--fleet-session-ttl). A herald cut off from etcd must
// be on the relay, its session's keepalive restarted there, before the
// session lapses: a hung connection is noticed after two probes that time
// out, 2 × (interval + timeout) = 0.8 × the TTL (1.6 s at the default 2 s).
// And while the path is direct, the session's keepalives (every third of
// the TTL) answer within interval + timeout = 0.4 × the TTL, so every probe
// is skipped and etcd is spared a linearizable read: with a fixed 500 ms
// interval, a session TTL of 6 s cost etcd a read per second per herald.
func relayTiming(sessionTTL int64) (interval, timeout time.Duration) {
	ttl := time.Duration(max(sessionTTL, 1)) * time.Second
	return ttl / 4, ttl * 3 / 20
}

// relayToken is the fleet's relay token, "" without a fleet (then nobody
// may relay through this herald, and it relays through nobody).
func relayToken(cfg *Config) (string, error) {
	if cfg.GossipAddr == "" {
		return "", nil
	}
	key, err := membership.LoadKey(cfg.GossipKeyFile)
	if err != nil {
		return "", &configError{"gossip-key-file", cfg.GossipKeyFile, err.Error()}
	}
	return relay.Token(key), nil
}

// peerURLs lists the client URLs of the fleet's other heralds, for relaying.
func peerURLs(fleet *gossip.Fleet, self string) func() []string {
	return func() []string {
		var urls []string
		for _, m := range fleet.Membership.Members() {
			if m.Name != self && m.MetaErr == nil && m.Meta.GRPCAddr != "" && !m.Meta.Leaving {
				urls = append(urls, m.Meta.GRPCAddr)
			}
		}
		return urls
	}
}

// relayThrough routes up's stubs through a relay.Switch: direct to etcd
// while etcd answers, through a peer herald otherwise (docs/fleet-leases.md,
// "Relay through a peer"), and registers its metrics on reg. Close the
// Switch after the proxy.
func relayThrough(up *etcd.Client, fleet *gossip.Fleet, self, token string, sessionTTL int64, peerTLS *tls.Config, answered func(time.Duration) bool, onSwitch func(bool), reg prometheus.Registerer, log *slog.Logger) (*relay.Switch, error) {
	var relaying atomic.Bool
	read := relay.PathProbe(up.Direct())
	interval, timeout := relayTiming(sessionTTL)
	probe := func(ctx context.Context) error {
		// While the path is direct, the session's keepalives run on it: an
		// answer since the last probe is proof enough (relayTiming).
		if !relaying.Load() && answered(interval+timeout) {
			return nil
		}
		return read(ctx)
	}
	switched := func(r bool) {
		relaying.Store(r)
		onSwitch(r)
	}
	sw, err := relay.New(relay.Config{
		Direct:  up.Direct(),
		PeerTLS: peerTLS,
		Peers:   peerURLs(fleet, self),
		Token:   token,
		Probe:   probe,
		// Relay only where etcd answers: a saturated etcd is slow for
		// every herald, and relaying through each other would not help.
		ProbeRelay:    relay.PathProbe,
		ProbeInterval: interval,
		ProbeTimeout:  timeout,
		OnSwitch:      switched,
		Logger:        log,
	})
	if err != nil {
		return nil, err
	}
	if err := registerRelayMetrics(reg, sw); err != nil {
		sw.Close()
		return nil, err
	}
	up.Route(sw)
	return sw, nil
}

// registerRelayMetrics exports the Switch's state on reg:
// herald_relay_relaying (1 while new upstream calls go through a peer), the
// calls relayed and the switches.
func registerRelayMetrics(reg prometheus.Registerer, sw *relay.Switch) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "herald_relay_relaying",
			Help: "1 while new upstream calls go through a peer herald (etcd does not answer directly)."},
			func() float64 {
				if sw.Relaying() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "herald_relay_relayed_calls_total",
			Help: "Upstream calls sent through a peer herald."}, func() float64 { return float64(sw.Stats().RelayedCalls) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "herald_relay_switches_total",
			Help: "Changes of the upstream path (direct, relayed)."}, func() float64 { return float64(sw.Stats().Switches) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("relay metrics: %w", err)
		}
	}
	return nil
}

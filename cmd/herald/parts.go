package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/gossip"
	"github.com/heraldproj/herald/internal/startup"
	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/proxy"
	"github.com/heraldproj/herald/upstream"
)

// The parts of herald that the gRPC server serves with: Run builds them
// here from the Config, hands them to proxy.New, brings them up with
// internal/startup and closes them after the server has stopped.

// newOffloader builds the lease offloader, nil when --lease-offload is off.
// Its lease index travels on bus's "leases" topic (nil bus: a herald on its
// own watches its reserved keyspace itself).
func newOffloader(cfg *Config, up offload.Upstream, bus *gossip.Bus, witness *upstream.Witness, reg prometheus.Registerer, log *slog.Logger) (*offload.Offloader, error) {
	if !cfg.LeaseOffload {
		return nil, nil
	}
	o := offload.DefaultOptions()
	o.Name = cfg.Name
	if len(cfg.AdvertiseClientURLs) > 0 {
		o.URL = cfg.AdvertiseClientURLs[0]
	}
	o.Carriers = cfg.CarrierLeases
	o.CarrierTTL = cfg.CarrierTTL
	o.SessionTTL = cfg.SessionTTL
	o.MinTTL = cfg.LeaseMinTTL
	o.ReservedPrefix = cfg.ReservedPrefix
	o.Feeders = cfg.FanoutFeeders
	// With an etcd identity of its own, herald may face etcd with auth on:
	// every client's lease call is checked with etcd first.
	o.CheckPermissions = cfg.hasEtcdIdentity()
	o.Witness = witness
	if bus != nil {
		o.Bus = bus.Topic("leases")
	}
	return offload.New(o, up, reg, log)
}

// fanoutUpstream is what the hub needs of the coordinator.
type fanoutUpstream interface {
	upstream.KV
	upstream.Watches
}

// newHub builds the fan-out hub, nil without --fanout-prefix. Its batches
// travel on bus's hub.Topic (nil bus: a herald on its own is its own
// feeder).
func newHub(cfg *Config, up fanoutUpstream, bus *gossip.Bus, witness *upstream.Witness, reg prometheus.Registerer, log *slog.Logger) (*hub.Hub, error) {
	if len(cfg.FanoutPrefixes) == 0 {
		return nil, nil
	}
	m, err := hub.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	c := hub.Config{
		Options: hub.Options{
			Prefixes:               cfg.FanoutPrefixes,
			Feeders:                cfg.FanoutFeeders,
			CacheAll:               cfg.FanoutCacheAll,
			ProgressNotifyInterval: cfg.ProgressNotifyInterval,
			WindowEvents:           cfg.WindowEvents,
			WindowBytes:            cfg.WindowBytes,
			WindowAge:              cfg.WindowAge,
			MaxResponseBytes:       proxy.MaxRequestBytesWithOverhead(cfg.MaxRequestBytes),
		},
		Name: cfg.Name, KV: up, Watch: up, Metrics: m, Logger: log,
		// With an etcd identity of its own, herald may face etcd with auth
		// on: tokenless watches are checked as etcd checks them.
		CheckPermissions: cfg.hasEtcdIdentity(),
		Witness:          witness,
	}
	if bus != nil {
		c.Bus = bus.Topic(hub.Topic)
	}
	return hub.New(c)
}

// startParts lists what internal/startup brings up: the offloader and the
// hub that are on.
func startParts(off *offload.Offloader, fan *hub.Hub) []startup.Part {
	var parts []startup.Part
	if off != nil {
		parts = append(parts, off)
	}
	if fan != nil {
		parts = append(parts, fan)
	}
	return parts
}

package main

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/gossip"
	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/transport"
)

// joinFleet joins the herald fleet when --gossip-addr is set, and
// registers its gossip and transport metrics on reg; nil, nil otherwise.
func joinFleet(cfg *Config, reg prometheus.Registerer, log *slog.Logger) (*gossip.Fleet, error) {
	if cfg.GossipAddr == "" {
		return nil, nil
	}
	key, err := membership.LoadKey(cfg.GossipKeyFile)
	if err != nil {
		return nil, &configError{"gossip-key-file", cfg.GossipKeyFile, err.Error()}
	}
	profile, ok := gossip.LookupProfile(cfg.GossipProfile)
	if !ok {
		return nil, &configError{"gossip-profile", cfg.GossipProfile, "unknown"}
	}
	var faults *transport.FaultConfig
	if cfg.InjectLoss > 0 || cfg.InjectDelayMax > 0 {
		faults = &transport.FaultConfig{Loss: cfg.InjectLoss, DelayMin: cfg.InjectDelayMin, DelayMax: cfg.InjectDelayMax, Seed: identitySeed(cfg.Name)}
		log.Warn("TESTING: injecting faults into the fleet transport", "loss", cfg.InjectLoss, "delay-min", cfg.InjectDelayMin, "delay-max", cfg.InjectDelayMax)
	}
	f, err := gossip.JoinFleet(gossip.FleetConfig{
		Faults:        faults,
		Name:          cfg.Name,
		GossipAddr:    cfg.GossipAddr,
		TransportAddr: cfg.TransportAddr,
		GRPCAddr:      cfg.AdvertiseClientURLs[0],
		Seeds:         cfg.Join,
		Key:           key,
		Profile:       profile.Membership,
		Protocol:      profile.Protocol,
		Logger:        log.With("area", "gossip"),
	})
	if errors.Is(err, membership.ErrForeignKey) {
		return nil, &configError{"gossip-key-file", cfg.GossipKeyFile, "not the fleet's key: the seeds (--join) answered under another key"}
	}
	if err != nil {
		return nil, err
	}
	for _, c := range f.Collectors() {
		if err := reg.Register(c); err != nil {
			f.Close()
			return nil, fmt.Errorf("gossip metrics: %w", err)
		}
	}
	if f.Membership.Joined() {
		log.Info("joined the herald fleet", "gossip-addr", cfg.GossipAddr, "members", f.Membership.NumMembers())
	} else {
		log.Warn("no fleet seed answered yet; herald serves alone and keeps trying to join", "gossip-addr", cfg.GossipAddr, "join", cfg.Join)
	}
	return f, nil
}

// identitySeed seeds the injected faults per herald, reproducibly.
func identitySeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

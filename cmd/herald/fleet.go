package main

import (
	"hash/fnv"
	"log/slog"

	"github.com/heraldproj/herald/fanout/feed"
	"github.com/heraldproj/herald/gossip"
	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
	"github.com/heraldproj/herald/proxy"
)

// joinFleet joins the herald fleet when --gossip-addr is set; nil, nil
// otherwise.
func joinFleet(cfg *Config, log *slog.Logger) (*gossip.Fleet, error) {
	if cfg.GossipAddr == "" {
		return nil, nil
	}
	key, err := membership.LoadKey(cfg.GossipKeyFile)
	if err != nil {
		return nil, &configError{"gossip-key-file", cfg.GossipKeyFile, err.Error()}
	}
	profile := membership.LAN
	if cfg.GossipProfile == "local" {
		profile = membership.Local
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
		Profile:       profile,
		Protocol:      plumtree.DefaultConfig,
		Logger:        log.With("area", "gossip"),
	})
	if err != nil {
		return nil, err
	}
	log.Info("joined the herald fleet", "gossip-addr", cfg.GossipAddr, "members", f.Membership.NumMembers())
	return f, nil
}

// fleetMembers lists the fleet's heralds for MemberList.
func fleetMembers(f *gossip.Fleet) func() []proxy.FleetMember {
	return func() []proxy.FleetMember {
		var out []proxy.FleetMember
		for _, m := range f.Membership.Members() {
			if m.MetaErr != nil || m.Meta.GRPCAddr == "" || m.Meta.Leaving {
				continue
			}
			out = append(out, proxy.FleetMember{Name: m.Name, ClientURLs: []string{m.Meta.GRPCAddr}})
		}
		return out
	}
}

// fleetTopics is the fleet's bus as proxy.Options.Fleet takes it: a
// gossip.Topic is a feed.Bus, but gossip does not import the feed, so its
// Topic method returns its own type.
type fleetTopics struct{ bus *gossip.Bus }

func (f fleetTopics) Topic(name string) feed.Bus { return f.bus.Topic(name) }

// identitySeed seeds the injected faults per herald, reproducibly.
func identitySeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

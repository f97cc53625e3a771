package gossip

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"

	"github.com/heraldproj/herald/internal/fleet"
)

// FleetConfig is everything a herald needs to join the fleet's
// dissemination layer. cmd/ builds it from flags (--name, --gossip-addr,
// --join, --gossip-key-file).
type FleetConfig struct {
	Name string // herald id, unique in the fleet
	// GossipAddr is the host:port memberlist binds (UDP and TCP).
	GossipAddr string
	// TransportAddr is the host:port of the broadcast transport's TCP
	// listener. Default: GossipAddr's host and port + 1 (port 0 if
	// GossipAddr's port is 0).
	TransportAddr string
	GRPCAddr      string   // advertised to the fleet in the member metadata
	Roles         []string // advertised, e.g. "feeder"
	Seeds         []string // host:port of memberlist seeds
	Key           []byte   // the fleet key (membership.LoadKey); required
	Profile       membership.Profile

	// Protocol returns the broadcast-tree configuration for this herald
	// (default plumtree.DefaultConfig, with a Rand seeded from Seed and Name).
	Protocol func(id plumtree.NodeID, r *rand.Rand) plumtree.Config
	Seed     uint64
	// Faults, when set, wraps the transport in transport.Faulty: tests and
	// benchmarks only.
	Faults *transport.FaultConfig
	Clock  Clock
	// LeaveTimeout bounds the graceful leave in Close (default 2 s).
	LeaveTimeout time.Duration
	Logger       *slog.Logger
}

// Fleet is one herald's running dissemination layer: membership, the
// transport and the broadcast Node.
type Fleet struct {
	*Node
	Membership *membership.Membership
	Transport  transport.Transport
	tcp        *transport.TCP
	faulty     *transport.Faulty
	leave      time.Duration
}

// JoinFleet starts the transport, then membership (advertising the
// transport's address), then the Node. It does not wait for the fleet to
// converge: the Node's view grows as members are discovered.
func JoinFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaveTimeout <= 0 {
		cfg.LeaveTimeout = 2 * time.Second
	}
	if cfg.Key == nil {
		return nil, errors.New("gossip: FleetConfig.Key is required: every frame is authenticated with it")
	}
	if cfg.TransportAddr == "" {
		addr, err := nextPort(cfg.GossipAddr)
		if err != nil {
			return nil, fmt.Errorf("gossip: FleetConfig.GossipAddr: %w", err)
		}
		cfg.TransportAddr = addr
	}
	tcp, err := transport.ListenTCP(transport.TCPConfig{
		ID: cfg.Name, ListenAddr: cfg.TransportAddr, Key: cfg.Key, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	f := &Fleet{tcp: tcp, Transport: tcp, leave: cfg.LeaveTimeout}
	if cfg.Faults != nil {
		f.faulty = transport.NewFaulty(tcp, *cfg.Faults)
		f.Transport = f.faulty
	}
	pb := NewPiggyback(0)
	ms, err := membership.New(membership.Config{
		Carrier:  pb,
		Name:     cfg.Name,
		BindAddr: cfg.GossipAddr,
		Seeds:    cfg.Seeds,
		Key:      cfg.Key,
		Meta:     membership.Meta{GRPCAddr: cfg.GRPCAddr, GossipAddr: tcp.Addr(), Roles: cfg.Roles},
		Profile:  cfg.Profile,
		Logger:   cfg.Logger,
	})
	if err != nil {
		f.Transport.Close()
		return nil, fmt.Errorf("gossip: %w", err)
	}
	f.Membership = ms
	if err := f.advertiseRoutable(cfg); err != nil {
		f.closeLower()
		return nil, err
	}
	proto := cfg.Protocol
	if proto == nil {
		proto = plumtree.DefaultConfig
	}
	h := fnv.New64a()
	h.Write([]byte(cfg.Name))
	id := plumtree.NodeID(cfg.Name)
	node, err := NewNode(Config{
		Protocol:  proto(id, rand.New(rand.NewPCG(cfg.Seed, h.Sum64()))),
		Peers:     MembershipPeers(ms),
		Transport: f.Transport,
		Piggyback: pb,
		Clock:     cfg.Clock,
		Logger:    cfg.Logger,
	})
	if err != nil {
		f.closeLower()
		return nil, err
	}
	f.Node = node
	return f, nil
}

// advertiseRoutable replaces an unspecified transport host (0.0.0.0, ::) in
// the metadata with the address memberlist advertises.
func (f *Fleet) advertiseRoutable(cfg FleetConfig) error {
	host, port, err := net.SplitHostPort(f.tcp.Addr())
	if err != nil {
		return fmt.Errorf("gossip: transport address: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return nil
	}
	mhost, _, err := net.SplitHostPort(f.Membership.Addr())
	if err != nil {
		return fmt.Errorf("gossip: membership address: %w", err)
	}
	meta := f.Membership.Local().Meta
	meta.GossipAddr = net.JoinHostPort(mhost, port)
	if err := f.Membership.UpdateMeta(meta, cfg.LeaveTimeout); err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	return nil
}

// Heralds lists the fleet's heralds as their clients reach them (for
// proxy.Options.FleetMembers): members whose metadata decoded, that have a
// client address and are not leaving. It does not block on the network.
func (f *Fleet) Heralds() []fleet.Member {
	var out []fleet.Member
	for _, m := range f.Membership.Members() {
		if m.MetaErr != nil || m.Meta.GRPCAddr == "" || m.Meta.Leaving {
			continue
		}
		out = append(out, fleet.Member{Name: m.Name, ClientURLs: []string{m.Meta.GRPCAddr}})
	}
	return out
}

// FaultInjector returns the transport.Faulty wrapper when FleetConfig.Faults
// was set, nil otherwise.
func (f *Fleet) FaultInjector() *transport.Faulty { return f.faulty }

// TransportStats returns the TCP transport's counters.
func (f *Fleet) TransportStats() transport.Stats { return f.tcp.Stats() }

// Close leaves the fleet gracefully (peers see Leave, not Fail, and stop
// routing through this herald while it still forwards), then stops the Node
// and closes the transport. It is idempotent.
func (f *Fleet) Close() error {
	leaveErr := f.Membership.Close(f.leave)
	return errors.Join(leaveErr, f.Node.Close(), f.Transport.Close())
}

func (f *Fleet) closeLower() error {
	return errors.Join(f.Membership.Close(f.leave), f.Transport.Close())
}

func nextPort(hostport string) (string, error) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port >= 65535 {
		return "", fmt.Errorf("bad port %q", p)
	}
	if port == 0 {
		return net.JoinHostPort(host, "0"), nil
	}
	return net.JoinHostPort(host, strconv.Itoa(port+1)), nil
}

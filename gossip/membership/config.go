package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile selects memberlist's timing preset.
type Profile int

const (
	// LAN is memberlist's DefaultLANConfig: 1 s probes, 500 ms probe timeout,
	// 30 s push/pull. For a fleet spread over racks of one datacentre.
	LAN Profile = iota
	// Local is for many members on one test machine: loopback RTTs, faster
	// gossip and push/pull so that a fleet of tens converges in about a second,
	// but probe timeouts loose enough that a loaded 2-core CI machine does not
	// see false failures.
	Local
	// WAN is memberlist's DefaultWANConfig: 3 s probes and timeouts, 60 s
	// push/pull, more suspicion — for a fleet spread over datacentres.
	WAN
)

func (p Profile) String() string {
	switch p {
	case LAN:
		return "lan"
	case Local:
		return "local"
	case WAN:
		return "wan"
	}
	return "profile(" + strconv.Itoa(int(p)) + ")"
}

// Config is the plain, validated configuration of one member.
type Config struct {
	Name     string   // herald id, unique in the fleet; also Meta.ID
	BindAddr string   // host:port for memberlist's UDP and TCP; port 0 picks a free one
	Seeds    []string // host:port of members to join; empty starts a new fleet
	Key      []byte   // fleet key, 16/24/32 bytes (see LoadKey); nil disables encryption
	Meta     Meta     // advertised to the fleet; ID defaults to Name
	Profile  Profile
	// EventBuffer is the capacity of each subscriber's channel (default 256).
	EventBuffer int
	// RejoinInterval is the first wait between join attempts while no seed
	// answers (default 1 s, doubling up to 30 s, each wait jittered
	// down to as little as half: internal/backoff).
	RejoinInterval time.Duration
	// Carrier, if set, puts its messages on the packets memberlist sends
	// anyway and receives those others put there (see Carrier).
	Carrier Carrier
	Logger  *slog.Logger // nil discards
}

func (c *Config) validate() error {
	if c.Name == "" {
		return errors.New("membership: Config.Name is required")
	}
	if _, _, err := splitHostPort(c.BindAddr); err != nil {
		return fmt.Errorf("membership: Config.BindAddr: %w", err)
	}
	if c.Key != nil {
		if err := memberlist.ValidateKey(c.Key); err != nil {
			return fmt.Errorf("membership: Config.Key: %w", err)
		}
	}
	if c.Meta.ID == "" {
		c.Meta.ID = c.Name
	}
	if c.Meta.ID != c.Name {
		return fmt.Errorf("membership: Config.Meta.ID %q differs from Name %q", c.Meta.ID, c.Name)
	}
	if _, err := c.Meta.MarshalBinary(); err != nil {
		return err
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 256
	}
	if c.RejoinInterval <= 0 {
		c.RejoinInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

// memberlistConfig translates c (validated) into memberlist's configuration;
// its log lines about closed sockets are DEBUG once closing is set (nil:
// never; log.go).
func (c *Config) memberlistConfig(closing *atomic.Bool) (*memberlist.Config, error) {
	var mc *memberlist.Config
	switch c.Profile {
	case LAN:
		mc = memberlist.DefaultLANConfig()
	case WAN:
		mc = memberlist.DefaultWANConfig()
	case Local:
		mc = memberlist.DefaultLocalConfig()
		mc.GossipInterval = 50 * time.Millisecond
		mc.PushPullInterval = 2 * time.Second
		mc.ProbeInterval = 500 * time.Millisecond
		mc.ProbeTimeout = 250 * time.Millisecond
		mc.SuspicionMult = 4
		mc.DeadNodeReclaimTime = time.Second
	default:
		return nil, fmt.Errorf("membership: unknown profile %d", c.Profile)
	}
	host, port, err := splitHostPort(c.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("membership: Config.BindAddr: %w", err)
	}
	mc.Name = c.Name
	mc.BindAddr = host
	mc.BindPort = port
	mc.AdvertisePort = port
	if c.Key != nil {
		kr, err := memberlist.NewKeyring(nil, c.Key)
		if err != nil {
			return nil, fmt.Errorf("membership: keyring: %w", err)
		}
		mc.Keyring = kr
	}
	mc.Logger = newStdLogger(c.Logger, closing)
	return mc, nil
}

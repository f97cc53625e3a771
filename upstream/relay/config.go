package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/heraldproj/herald/internal/clock"
)

// Config says how a Switch reaches etcd directly and through the fleet.
type Config struct {
	// Direct is herald's own connection to etcd. The Switch never closes
	// it.
	Direct grpc.ClientConnInterface
	// Peers returns the client URLs (http://host:port or https://host:port)
	// of the fleet's other heralds, not this one's. It is called for a
	// relayed call that needs a new peer, and at each probe while peer
	// connections are cached; it must be cheap and must not block.
	Peers func() []string
	// PeerTLS configures TLS towards https peers (root CAs, client
	// certificate); nil means the system roots. http peers are plain text.
	PeerTLS *tls.Config
	// DialOptions are added to every peer connection after the Switch's own
	// (credentials by URL scheme, unlimited receive size, keepalive), so
	// they can override them.
	DialOptions []grpc.DialOption
	// Token is Token(fleet key), sent with every relayed call.
	Token string
	// Probe checks the direct path; it must use Direct, never the Switch.
	// nil or codes.PermissionDenied (etcd answered, so a quorum did) count
	// as healthy. HealthProbe(Direct) is the probe etcd's /health makes.
	Probe func(ctx context.Context) error
	// ProbeRelay, when set, builds the probe of the relayed path from a
	// connection that sends every call through a peer, as Probe checks
	// Direct (PathProbe and HealthProbe fit). The Switch then goes to the
	// relay only when that probe is answered in time: an etcd too slow for
	// every herald (saturated, electing a leader) fails the direct probe
	// of all of them, and relaying through each other would only add
	// hops and restart their streams. nil: a listed peer is enough.
	ProbeRelay func(relayed grpc.ClientConnInterface) func(ctx context.Context) error
	// ProbeInterval is the pause between the end of a probe and the start
	// of the next (default DefaultProbeInterval); ProbeTimeout bounds one
	// probe (default DefaultProbeTimeout).
	ProbeInterval, ProbeTimeout time.Duration
	// FailuresToRelay and SuccessesToDirect are the consecutive probe
	// outcomes that switch paths (defaults DefaultFailuresToRelay and
	// DefaultSuccessesToDirect).
	FailuresToRelay, SuccessesToDirect int
	// OnSwitch, when set, is called after every switch with the path new
	// calls now take. It runs on the prober goroutine and must not block.
	// Calls in progress stay on their path, so this is where herald can
	// restart its long-lived streams.
	OnSwitch func(relaying bool)
	// Clock times the probes; nil is the wall clock.
	Clock  Clock
	Logger *slog.Logger
}

// withDefaults checks the configuration and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.Direct == nil:
		return Config{}, errors.New("relay: no direct connection")
	case cfg.Peers == nil:
		return Config{}, errors.New("relay: no peer list")
	case cfg.Token == "":
		return Config{}, errors.New("relay: no relay token")
	case cfg.Probe == nil:
		return Config{}, errors.New("relay: no probe of the direct path")
	case cfg.ProbeInterval < 0 || cfg.ProbeTimeout < 0 || cfg.FailuresToRelay < 0 || cfg.SuccessesToDirect < 0:
		return Config{}, fmt.Errorf("relay: negative probe settings (interval %v, timeout %v, failures %d, successes %d)",
			cfg.ProbeInterval, cfg.ProbeTimeout, cfg.FailuresToRelay, cfg.SuccessesToDirect)
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = DefaultProbeInterval
	}
	if cfg.ProbeTimeout == 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.FailuresToRelay == 0 {
		cfg.FailuresToRelay = DefaultFailuresToRelay
	}
	if cfg.SuccessesToDirect == 0 {
		cfg.SuccessesToDirect = DefaultSuccessesToDirect
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

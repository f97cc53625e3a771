package main

import (
	"context"
	"log/slog"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/gossip"
	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/upstream/relay"
)

// Relay timing: a herald cut off from etcd must reach it through a peer
// before its session (--fleet-session-ttl, 2 s by default) lapses at etcd.
// A hung connection is noticed after two probes that time out: at most
// 2 × (interval + timeout) = 1.6 s.
const (
	relayProbeInterval = 500 * time.Millisecond
	relayProbeTimeout  = 300 * time.Millisecond
)

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

// newRelaySwitch builds the upstream path that goes through a peer herald
// while etcd does not answer herald directly (docs/fleet-leases.md, "Relay
// through a peer").
func newRelaySwitch(direct grpc.ClientConnInterface, fleet *gossip.Fleet, self, token string, onSwitch func(bool), log *slog.Logger) (*relay.Switch, error) {
	return relay.New(relay.Config{
		Direct: direct,
		Peers: func() []string {
			var urls []string
			for _, m := range fleet.Membership.Members() {
				if m.Name != self && m.MetaErr == nil && m.Meta.GRPCAddr != "" && !m.Meta.Leaving {
					urls = append(urls, m.Meta.GRPCAddr)
				}
			}
			return urls
		},
		Token:         token,
		Probe:         directProbe(direct),
		ProbeInterval: relayProbeInterval,
		ProbeTimeout:  relayProbeTimeout,
		OnSwitch:      onSwitch,
		Logger:        log.With("area", "relay"),
	})
}

// directProbe checks that etcd answers on the direct connection: a
// serializable count of one key (no raft round, no auth needed to be
// answered). Any answer from etcd, an error included, proves the path;
// only a transport failure or a timeout does not.
func directProbe(direct grpc.ClientConnInterface) func(context.Context) error {
	kv := pb.NewKVClient(direct)
	return func(ctx context.Context) error {
		_, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("health"), Serializable: true, CountOnly: true})
		switch status.Code(err) {
		case codes.OK, codes.PermissionDenied, codes.InvalidArgument, codes.FailedPrecondition, codes.Unauthenticated, codes.OutOfRange:
			return nil
		}
		return err
	}
}

package relay

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Stats are the Switch's counters, for metrics.
type Stats struct {
	// DirectCalls and RelayedCalls count the calls started on each path
	// (a relayed call that found no peer is counted as direct).
	DirectCalls, RelayedCalls uint64
	// Switches counts changes of path, both ways.
	Switches uint64
	// PeerConns is the number of peer connections held now.
	PeerConns int
}

// Switch is herald's upstream connection: a grpc.ClientConnInterface that
// sends each new call direct to etcd while the direct path answers the
// probes, and through a peer herald while it does not. Calls in progress
// stay on the path they started on. A relayed call goes to MethodPrefix +
// method on a peer's client port with the relay token and the CodecName
// content-subtype, so the peer's Handler passes it to etcd.
//
// The switching rule: the direct path is probed every ProbeInterval (each
// probe bounded by ProbeTimeout); after FailuresToRelay consecutive failed
// probes, while at least one peer is listed (and, with Config.ProbeRelay,
// etcd answers the probe through one in time), new calls go through a peer;
// after SuccessesToDirect consecutive successful probes they go direct
// again. The defaults (500 ms, 400 ms, 2 and 2) and their reasons are with
// DefaultProbeInterval.
//
// When relaying, a call is sent to a connected peer if there is one; when
// opening the call on a peer fails with codes.Unavailable (nothing was sent
// yet: the peer is unreachable), the next peer is tried, up to
// maxPeerAttempts. When no peer can take a call, it goes direct. Once a
// request may have reached a peer, its outcome is the call's: the Switch
// never sends a request twice.
type Switch struct {
	direct grpc.ClientConnInterface
	peers  *peerPool
	token  string
	probe  func(context.Context) error
	// relayProbe checks the relayed path (Config.ProbeRelay); nil: not
	// checked.
	relayProbe func(context.Context) error
	clock      Clock
	log        *slog.Logger

	interval, timeout time.Duration
	onSwitch          func(bool)
	rule              rule // owned by the prober goroutine
	stayed            bool // the prober's: the relay probe failed since the last answer (logged once)

	relaying                  atomic.Bool
	directCalls, relayedCalls atomic.Uint64
	switches                  atomic.Uint64
	stopProber                context.CancelFunc
	proberCtx                 context.Context
	prober                    sync.WaitGroup
	closeOnce                 sync.Once
}

var _ grpc.ClientConnInterface = (*Switch)(nil)

// maxPeerAttempts bounds the peers one call tries before it goes direct.
const maxPeerAttempts = 3

// errNoPeer says that no peer could take a call; nothing was sent.
var errNoPeer = errors.New("relay: no peer could take the call")

// New starts a Switch on the direct path, with its prober running.
func New(cfg Config) (*Switch, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Switch{
		direct:   cfg.Direct,
		peers:    newPeerPool(cfg.Peers, peerDialer(cfg.PeerTLS, cfg.DialOptions), cfg.Logger),
		token:    cfg.Token,
		probe:    cfg.Probe,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		interval: cfg.ProbeInterval,
		timeout:  cfg.ProbeTimeout,
		onSwitch: cfg.OnSwitch,
		rule:     rule{failuresToRelay: cfg.FailuresToRelay, successesToDirect: cfg.SuccessesToDirect},
	}
	if cfg.ProbeRelay != nil {
		s.relayProbe = cfg.ProbeRelay(relayedConn{s})
	}
	s.proberCtx, s.stopProber = context.WithCancel(context.Background())
	s.prober.Add(1)
	go s.runProber()
	return s, nil
}

// Invoke sends a unary call on the path of the moment.
func (s *Switch) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if s.relaying.Load() {
		if err := s.invokeRelayed(ctx, method, args, reply, opts, &s.relayedCalls); !errors.Is(err, errNoPeer) {
			return err
		}
	}
	s.directCalls.Add(1)
	return s.direct.Invoke(ctx, method, args, reply, opts...)
}

// invokeRelayed sends a unary call through a peer, counting it in
// counted (nil: not counted); errNoPeer if no peer took it.
func (s *Switch) invokeRelayed(ctx context.Context, method string, args, reply any, opts []grpc.CallOption, counted *atomic.Uint64) error {
	cs, err := s.openRelayed(ctx, unaryCall, method, opts, counted)
	if err != nil {
		return err
	}
	// As grpc.ClientConn.Invoke does it: for a unary call SendMsg also
	// half-closes, and RecvMsg reads the answer and status.
	if err := cs.SendMsg(args); err != nil {
		return err
	}
	return cs.RecvMsg(reply)
}

// relayedConn is the Switch's relayed path alone, for its relay probe:
// every call goes through a peer, or fails with codes.Unavailable.
type relayedConn struct{ s *Switch }

func (c relayedConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return noPeerUnavailable(c.s.invokeRelayed(ctx, method, args, reply, opts, nil))
}

func (c relayedConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := c.s.openRelayed(ctx, desc, method, opts, nil)
	return cs, noPeerUnavailable(err)
}

func noPeerUnavailable(err error) error {
	if errors.Is(err, errNoPeer) {
		return status.Error(codes.Unavailable, err.Error())
	}
	return err
}

// unaryCall describes a unary call opened as a stream.
var unaryCall = &grpc.StreamDesc{}

// NewStream opens a stream on the path of the moment; the stream stays on
// that path until it ends.
func (s *Switch) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if s.relaying.Load() {
		cs, err := s.openRelayed(ctx, desc, method, opts, &s.relayedCalls)
		if !errors.Is(err, errNoPeer) {
			return cs, err
		}
	}
	s.directCalls.Add(1)
	return s.direct.NewStream(ctx, desc, method, opts...)
}

// openRelayed opens method on a peer and counts it in counted (nil: the
// relay probe's, not counted). It rotates to another peer only when
// opening failed with codes.Unavailable, before any request was sent, and
// returns errNoPeer when no peer took the call.
func (s *Switch) openRelayed(ctx context.Context, desc *grpc.StreamDesc, method string, opts []grpc.CallOption, counted *atomic.Uint64) (grpc.ClientStream, error) {
	ctx = withRelayToken(ctx, s.token)
	opts = append(opts[:len(opts):len(opts)], grpc.CallContentSubtype(CodecName))
	var tried []string
	for range maxPeerAttempts {
		peerURL, conn, ok := s.peers.pick(tried)
		if !ok {
			break
		}
		cs, err := conn.NewStream(ctx, desc, MethodPrefix+method, opts...)
		if err == nil {
			if counted != nil {
				counted.Add(1)
			}
			return cs, nil
		}
		if status.Code(err) != codes.Unavailable {
			return nil, err
		}
		s.log.Debug("relay: peer unavailable, trying another", "url", peerURL, "err", err)
		tried = append(tried, peerURL)
	}
	return nil, errNoPeer
}

// withRelayToken sets the relay token in the outgoing metadata, replacing
// any value already there, so the peer sees exactly one.
func withRelayToken(ctx context.Context, token string) context.Context {
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok {
		return metadata.AppendToOutgoingContext(ctx, MetadataKey, token)
	}
	md.Set(MetadataKey, token)
	return metadata.NewOutgoingContext(ctx, md)
}

// Relaying reports whether new calls go through a peer.
func (s *Switch) Relaying() bool { return s.relaying.Load() }

// Stats returns the counters.
func (s *Switch) Stats() Stats {
	return Stats{
		DirectCalls:  s.directCalls.Load(),
		RelayedCalls: s.relayedCalls.Load(),
		Switches:     s.switches.Load(),
		PeerConns:    s.peers.size(),
	}
}

// Close stops the prober, waiting for it, and closes the peer connections
// (relayed calls in progress end with codes.Canceled). It leaves the direct
// connection open: calls made after Close go direct, and Relaying reports
// false.
func (s *Switch) Close() error {
	s.closeOnce.Do(func() {
		s.stopProber()
		s.prober.Wait()
		s.relaying.Store(false)
		s.peers.close()
	})
	return nil
}

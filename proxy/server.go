package proxy

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"math"
	"net"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3election/v3electionpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock/v3lockpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/upstream"
	"github.com/heraldproj/herald/upstream/relay"
)

// MaxRequestBytesWithOverhead is etcd's gRPC receive limit for a
// --max-request-bytes of n (etcd's function of the same name). herald's
// own gRPC limit is the same sum, so a request that etcd's gRPC layer would
// refuse is refused by herald's with the same message, and herald's
// upstream connection must be able to send that much.
func MaxRequestBytesWithOverhead(n int) int { return n + fanout.GRPCOverheadBytes }

// DefaultMaxRequestBytes is etcd's default --max-request-bytes (stated
// once, in fanout, whose watch responses must fit the same limit).
const DefaultMaxRequestBytes = fanout.DefaultMaxRequestBytes

// Options configure a Server.
type Options struct {
	Upstream upstream.Upstream
	// Name identifies this herald in MemberList answers.
	Name string
	// AdvertiseClientURLs are the URLs clients should use for this herald.
	AdvertiseClientURLs []string
	// MaxRequestBytes mirrors the upstream's --max-request-bytes.
	MaxRequestBytes int
	// TLS, when set, is the client-facing TLS configuration.
	TLS *tls.Config
	// FleetMembers, when set, lists the fleet's heralds for MemberList;
	// otherwise MemberList lists this herald alone.
	FleetMembers func() []FleetMember
	// Offloader, when set, serves virtual leases (lease/offload); nil
	// passes every lease call through to etcd. The caller builds it
	// (offload.New), brings it up (TryStart, internal/startup) and closes
	// it after the server has stopped; until it is Ready, virtual-lease
	// calls are answered Unavailable.
	Offloader *offload.Offloader
	// AuthTokenTTL is etcd's --auth-token-ttl: how long a simple token
	// lives unused. etcd refreshes a token at every use, keepalives
	// included; herald answers keepalives itself, so it shows a stream's
	// token to etcd at least every half of it (0: never).
	AuthTokenTTL time.Duration
	// Hub, when set, serves watches and serializable reads of the fan-out
	// prefixes (fanout/hub) once it is Ready; nil passes them through.
	// The caller builds, starts and closes it, as the Offloader.
	Hub *hub.Hub
	// PeerTLS is the client TLS configuration for forwarding lease calls to
	// peer heralds whose advertised URL is https (nil: system roots, no
	// client certificate).
	PeerTLS *tls.Config
	// RelayToken, when set, lets peer heralds that present it relay their
	// upstream calls through this herald to RelayUpstream (the direct
	// connection to etcd) while they are cut off from etcd.
	RelayToken    string
	RelayUpstream grpc.ClientConnInterface
	// Registerer receives the server's metrics: its client RPCs, the
	// readiness of the offloader and the hub, and the hub's figures (nil:
	// they are not registered). Give each server a registry of its own,
	// the one its offloader and hub register on.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Server is herald's gRPC front end.
type Server struct {
	grpc    *grpc.Server
	health  *healthMonitor
	offload *offloader // nil when lease offloading is off
	hub     *hub.Hub   // nil without fan-out prefixes
	log     *slog.Logger
	name    string // Options.Name
	drain   *drain // ends the endless streams in GracefulStop

	election *electionServer
	lock     *lockServer
}

// SetLoopback installs implementations of the v3election and v3lock
// services that run on a client of this very server (etcd builds them from
// KV, Lease and Watch calls), so that they work with virtual leases. Until
// it is called, both services are forwarded upstream.
func (s *Server) SetLoopback(election v3electionpb.ElectionServer, lock v3lockpb.LockServer) {
	s.election.local.Store(&election)
	s.lock.local.Store(&lock)
}

// New builds the gRPC server and registers every etcd v3 service, the gRPC
// health service and the request metrics, serving with the offloader and
// the hub of opts. It does not listen yet, and starts nothing.
func New(opts Options) (*Server, error) {
	if opts.Upstream == nil {
		return nil, errors.New("proxy: no upstream")
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	drains := newDrain()
	m := newServerMetrics()
	// The same limits and keepalive policy as an etcd member's client port.
	gopts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRequestBytesWithOverhead(opts.MaxRequestBytes)),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.MaxConcurrentStreams(math.MaxUint32),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Hour, Timeout: 20 * time.Second}),
		// Workers that outlive a request keep their grown stacks: a fresh
		// goroutine per request spent ~11 % of herald's CPU growing its
		// stack through the proxy's call chain (gRPC falls back to a new
		// goroutine when every worker is busy, e.g. with long streams).
		grpc.NumStreamWorkers(uint32(8 * runtime.GOMAXPROCS(0))),
		grpc.ChainUnaryInterceptor(m.unary, contextErrors),
		grpc.ChainStreamInterceptor(m.stream, drains.interceptor),
	}
	if opts.TLS != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	var gs *grpc.Server
	if opts.RelayToken != "" && opts.RelayUpstream != nil {
		gopts = append(gopts, grpc.UnknownServiceHandler(relay.Handler(opts.RelayUpstream, opts.RelayToken, opts.Logger,
			relay.WithServices(func() map[string]grpc.ServiceInfo { return gs.GetServiceInfo() }))))
	}
	gs = grpc.NewServer(gopts...)

	up := opts.Upstream
	// What the seam does not cover is forwarded as it is, or refused.
	fwd := forwardConn(up)
	var o *offloader
	if off := opts.Offloader; off != nil {
		o = &offloader{Offloader: off, ks: off.Keyspace(), peers: newPeers(opts.Name, opts.PeerTLS),
			auth: &authState{auth: pb.NewAuthClient(fwd), clock: off.Clock()}, tokenTTL: opts.AuthTokenTTL}
	}
	h := opts.Hub
	heralds := func() []FleetMember { return fleetSorted(opts.Name, opts.AdvertiseClientURLs, nil) }
	if opts.FleetMembers != nil {
		heralds = func() []FleetMember { return fleetSorted(opts.Name, opts.AdvertiseClientURLs, opts.FleetMembers()) }
	}
	pb.RegisterKVServer(gs, &kvServer{kv: up, stream: pb.NewKVClient(fwd), o: o, hub: h})
	pb.RegisterWatchServer(gs, &watchServer{watch: up, o: o, hub: h})
	pb.RegisterLeaseServer(gs, &leaseServer{lease: up, o: o})
	pb.RegisterClusterServer(gs, &clusterServer{members: up, cluster: pb.NewClusterClient(fwd), heralds: heralds})
	maintenance := maintenanceServer{m: pb.NewMaintenanceClient(fwd)}
	if _, etcd := up.(upstream.Forwarder); etcd {
		pb.RegisterMaintenanceServer(gs, &maintenance)
	} else {
		pb.RegisterMaintenanceServer(gs, &localMaintenance{maintenanceServer: maintenance, members: up})
	}
	pb.RegisterAuthServer(gs, &authServer{auth: pb.NewAuthClient(fwd)})
	election := &electionServer{e: v3electionpb.NewElectionClient(fwd)}
	lock := &lockServer{l: v3lockpb.NewLockClient(fwd)}
	v3electionpb.RegisterElectionServer(gs, election)
	v3lockpb.RegisterLockServer(gs, lock)

	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	s := &Server{
		grpc:     gs,
		health:   newHealthMonitor(upstreamHealth(up), o.answeredWithin, hs, opts.Logger),
		offload:  o,
		hub:      h,
		election: election,
		lock:     lock,
		log:      opts.Logger,
		name:     opts.Name,
		drain:    drains,
	}
	if opts.Registerer != nil {
		if err := m.register(opts.Registerer, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// UpstreamPathChanged tells the long-lived upstream streams (keepalives of
// the session and carriers, watches) to reopen: new calls now go direct, or
// through a peer (relaying), and a stream left on a dead path would hang.
func (s *Server) UpstreamPathChanged(relaying bool) {
	s.log.Warn("upstream path changed; reopening long-lived streams", "relaying", relaying)
	if s.offload != nil {
		s.offload.PathChanged()
	}
	if s.hub != nil {
		s.hub.Reconnect()
	}
}

// UpstreamAnsweredWithin reports whether etcd answered herald's own
// keepalives (session, carriers) within the last d, on the stream's current
// path: the relay's probe of the direct path skips its read then.
func (s *Server) UpstreamAnsweredWithin(d time.Duration) bool { return s.offload.answeredWithin(d) }

// answeredWithin: see UpstreamAnsweredWithin; false without an offloader.
func (o *offloader) answeredWithin(d time.Duration) bool { return o != nil && o.AnsweredWithin(d) }

// Serve accepts clients on lis until Stop. It blocks.
func (s *Server) Serve(lis net.Listener) error {
	go s.health.run()
	s.log.Info("serving etcd v3 clients", "addr", lis.Addr().String())
	return s.grpc.Serve(lis)
}

// Healthy reports whether the upstream answered the last health probe, and
// why not.
func (s *Server) Healthy() (bool, string) { return s.health.status() }

// Stop closes every client stream and listener at once. The offloader
// and the hub are the caller's to close, after Stop.
func (s *Server) Stop() {
	s.health.stop()
	s.grpc.Stop()
	s.closePeers()
}

// closePeers closes the connections to peer heralds, once no handler
// forwards on them any more.
func (s *Server) closePeers() {
	if s.offload != nil {
		s.offload.peers.Close()
	}
}

// GracefulStop stops accepting clients, ends the endless streams (watches,
// keepalives, observers) with Unavailable so that their clients move to
// another endpoint (drain.go), and waits, up to timeout, for unary calls
// and the other streams to finish; what is left is then closed.
func (s *Server) GracefulStop(timeout time.Duration) {
	s.health.stop()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	// GracefulStop has sent GOAWAY or is about to: a stream reopened on this
	// connection meanwhile is ended at once.
	s.drain.start()
	select {
	case <-done:
	case <-time.After(timeout):
		s.grpc.Stop()
		<-done // Stop ends GracefulStop at once
	}
	s.closePeers()
}

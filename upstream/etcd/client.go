package etcd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/heraldproj/herald/upstream"
)

// Config says how to reach the etcd cluster.
type Config struct {
	// Endpoints are the members' client URLs (http://host:port or
	// https://host:port) or host:port pairs.
	Endpoints []string
	// CACert, Cert and Key configure TLS towards etcd; all empty means
	// plain text unless an endpoint is https.
	CACert, Cert, Key string
	// InsecureSkipVerify accepts any certificate the members present (etcd
	// grpc-proxy's --insecure-skip-tls-verify); with it alone, herald
	// speaks TLS to etcd without verifying it.
	InsecureSkipVerify bool
	// AutoSyncInterval is how often the endpoints are refreshed from the
	// cluster's member list (etcd grpc-proxy's
	// --endpoints-auto-sync-interval); 0 never refreshes them.
	AutoSyncInterval time.Duration
	// MaxRequestBytes is the largest request herald accepts and must be able
	// to forward (etcd's --max-request-bytes plus gRPC overhead).
	MaxRequestBytes int
	// DialTimeout bounds the first connection.
	DialTimeout time.Duration
	// User and Password are herald's own etcd user (etcdctl's --user and
	// --password): the calls marked upstream.AsHerald authenticate as it.
	// No User: they go without a token, and an etcd with
	// --client-cert-auth takes Cert's CN as their user. A client's call
	// never uses either (authPath).
	User, Password string
	// Registerer receives herald_upstream_errors_total (nil: not
	// registered).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Client is an upstream.Upstream and upstream.Forwarder backed by one
// clientv3 connection. Its calls use that connection directly, or the path
// set with Route (a relay.Switch that goes through a peer herald while
// etcd is out of reach). Requests and answers are etcd's protobuf
// messages, passed as they are.
type Client struct {
	cli    *clientv3.Client
	direct *grpc.ClientConn
	conn   grpc.ClientConnInterface // the path: direct, or Route's

	// etcd's stubs on conn; set by setPath.
	kv      pb.KVClient
	watch   pb.WatchClient
	lease   pb.LeaseClient
	cluster pb.ClusterClient

	creds *credentials // nil without Config.User
	// hideCert: herald presents a client certificate (Config.Cert), which
	// etcd with --client-cert-auth takes as a user: clients' calls say
	// they come through a proxy, so that etcd never takes it for theirs.
	hideCert bool
	calls    *inflight
	log      *slog.Logger
	stop     chan struct{} // ends logEndpointChanges
	stopped  chan struct{}
}

var (
	_ upstream.Upstream  = (*Client)(nil)
	_ upstream.Forwarder = (*Client)(nil)
)

// Dial connects to etcd. It returns once the connection is set up; it does
// not wait for a member to answer (the proxy's health check does that).
func Dial(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	calls := newInflight()
	tlsCfg, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	obs := observer{open: calls, errs: newCallErrors()}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(obs.errs.vec); err != nil {
			return nil, fmt.Errorf("etcd: metrics: %w", err)
		}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		AutoSyncInterval:     cfg.AutoSyncInterval,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		TLS:                  tlsCfg,
		MaxCallSendMsgSize:   cfg.MaxRequestBytes,
		// Keep probing an idle connection, so a dead member is noticed
		// before the next client request rather than by it.
		PermitWithoutStream: true,
		// herald calls etcd through etcd's gRPC stubs, which clientv3's own
		// call options do not reach: without this, gRPC's default 4 MiB
		// receive limit would refuse answers that etcd gives (a large
		// Range, a DeleteRange with prev_kv, a snapshot chunk).
		// etcdctl's client sets no limit either.
		DialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
			grpc.WithChainUnaryInterceptor(stopAuthRetry, obs.unary),
			grpc.WithChainStreamInterceptor(obs.stream),
		},
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: connect %v: %w", cfg.Endpoints, err)
	}
	c := &Client{cli: cli, direct: cli.ActiveConnection(), calls: calls, log: cfg.Logger, stop: make(chan struct{}), stopped: make(chan struct{})}
	if cfg.User != "" {
		c.creds = &credentials{name: cfg.User, password: cfg.Password}
	}
	c.hideCert = cfg.Cert != ""
	c.setPath(c.direct)
	if cfg.AutoSyncInterval > 0 && cfg.Logger != nil {
		go func() {
			defer close(c.stopped)
			c.logEndpointChanges(cfg.AutoSyncInterval, cfg.Logger, c.stop)
		}()
	} else {
		close(c.stopped)
	}
	return c, nil
}

// clientTLS is the TLS configuration towards etcd, nil for plain text. As
// in etcd grpc-proxy, --insecure-skip-tls-verify alone is enough to turn
// TLS on, and it overrides --cacert.
func clientTLS(cfg Config) (*tls.Config, error) {
	if cfg.CACert == "" && cfg.Cert == "" && cfg.Key == "" && !cfg.InsecureSkipVerify {
		return nil, nil
	}
	info := transport.TLSInfo{TrustedCAFile: cfg.CACert, CertFile: cfg.Cert, KeyFile: cfg.Key}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd: upstream TLS: %w", err)
	}
	c.InsecureSkipVerify = cfg.InsecureSkipVerify
	if c.InsecureSkipVerify && cfg.Logger != nil {
		cfg.Logger.Warn("--insecure-skip-tls-verify: the upstream etcd's TLS certificates are not verified; use it for testing only")
	}
	return c, nil
}

// Direct is the connection to etcd itself, whatever Route says: the relay
// handler passes peers' calls to it, and the relay's probe checks it.
func (c *Client) Direct() *grpc.ClientConn { return c.direct }

// Route makes every call from now on go through path (a relay.Switch).
// Call it before handing the Client to the proxy.
func (c *Client) Route(path grpc.ClientConnInterface) { c.setPath(path) }

// setPath builds the stubs that the seam's methods call, on path.
func (c *Client) setPath(path grpc.ClientConnInterface) {
	path = noAuthRetry{path}
	if c.creds != nil || c.hideCert {
		path = authPath{ClientConnInterface: path, creds: c.creds, hideCert: c.hideCert}
	}
	c.conn = path
	c.kv, c.watch, c.lease, c.cluster = pb.NewKVClient(path), pb.NewWatchClient(path), pb.NewLeaseClient(path), pb.NewClusterClient(path)
}

// Forward is the connection for the services herald passes through
// unchanged (upstream.Forwarder), on the path Route set.
func (c *Client) Forward() grpc.ClientConnInterface { return c.conn }

// closeGrace bounds how long Close waits for herald's own calls to end.
const closeGrace = time.Second

// Close closes the connection to etcd, once herald's open calls have ended
// or closeGrace has passed.
func (c *Client) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.stopped
	if open := c.calls.drain(closeGrace); len(open) > 0 && c.log != nil {
		c.log.Warn("closing the upstream connection under unfinished calls", "calls", open)
	}
	return c.cli.Close()
}

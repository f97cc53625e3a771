package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldproj/herald/gossip"
	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/lease/offload"
)

// Config is herald's whole configuration, validated, with no trace of the
// flag or file it came from.
type Config struct {
	Name                string
	ListenAddr          string
	AdvertiseClientURLs []string
	Endpoints           []string
	DataDir             string
	MetricsAddr         string
	EnablePprof         bool
	LogLevel            string
	MaxRequestBytes     int

	// Upstream TLS (etcd grpc-proxy's --cacert, --cert, --key,
	// --insecure-skip-tls-verify) and endpoint refresh
	// (--endpoints-auto-sync-interval).
	CACert, Cert, Key         string
	InsecureSkipTLSVerify     bool
	EndpointsAutoSyncInterval time.Duration

	// herald's own etcd user (etcdctl's --user, name or name:password,
	// and --password); see etcdUser.
	User, Password string
	// AuthTokenTTL is etcd's --auth-token-ttl in seconds (simple tokens).
	AuthTokenTTL int

	// Client-facing TLS (etcd's --cert-file, --key-file, --trusted-ca-file,
	// --client-cert-auth; grpc-proxy's --client-crl-file, --auto-tls,
	// --self-signed-cert-validity, --tls-min-version, --tls-max-version,
	// --listen-cipher-suites). Versions and suites are etcd's names
	// ("TLS1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").
	CertFile, KeyFile, TrustedCAFile string
	ClientCertAuth                   bool
	ClientCRLFile                    string
	AutoTLS                          bool
	SelfSignedCertValidity           uint // years
	TLSMinVersion, TLSMaxVersion     string
	CipherSuites                     []string

	// The embedded etcd, used when Endpoints is empty.
	EmbeddedClientAddr, EmbeddedPeerAddr string

	// Fleet membership; no GossipAddr means a herald on its own.
	GossipAddr    string
	TransportAddr string // the broadcast tree's TCP address; default: GossipAddr's port + 1
	Join          []string
	GossipKeyFile string
	GossipProfile string // a gossip.Profile name: lan, wan or local

	// Faults injected into the fleet transport, for tests only.
	InjectLoss                     float64
	InjectDelayMin, InjectDelayMax time.Duration

	// Fleet watch fan-out.
	FanoutPrefixes         []string
	FanoutFeeders          int
	FanoutCacheAll         bool
	ProgressNotifyInterval time.Duration
	WindowEvents           int
	WindowBytes            int
	WindowAge              time.Duration

	// Lease offloading.
	LeaseOffload   bool
	CarrierLeases  int
	CarrierTTL     int64 // seconds
	SessionTTL     int64 // seconds
	LeaseMinTTL    int64 // seconds
	ReservedPrefix string
}

// configError names the setting that is wrong, so the one line herald
// prints on exit tells the operator what to fix.
type configError struct {
	setting string
	value   any
	problem string
}

func (e *configError) Error() string {
	return fmt.Sprintf("invalid --%s %q: %s", e.setting, fmt.Sprint(e.value), e.problem)
}

// Validate checks every setting and returns the first problem.
func (c *Config) Validate() error {
	if c.Name == "" || strings.ContainsAny(c.Name, " \t\n/") {
		return &configError{"name", c.Name, "must be non-empty, without spaces or slashes"}
	}
	if err := checkHostPort(c.ListenAddr); err != nil {
		return &configError{"listen-addr", c.ListenAddr, err.Error()}
	}
	for _, u := range c.AdvertiseClientURLs {
		if err := checkURL(u); err != nil {
			return &configError{"advertise-client-url", u, err.Error()}
		}
	}
	if raw, ok := c.zooKeeperURL(); ok {
		if err := c.checkZooKeeper(raw); err != nil {
			return err
		}
	} else {
		for _, e := range c.Endpoints {
			if err := checkEndpoint(e); err != nil {
				return &configError{"endpoints", e, err.Error()}
			}
		}
	}
	if c.DataDir == "" {
		return &configError{"data-dir", c.DataDir, "must not be empty"}
	}
	if c.MetricsAddr != "" {
		if err := checkHostPort(c.MetricsAddr); err != nil {
			return &configError{"metrics-addr", c.MetricsAddr, err.Error()}
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &configError{"log-level", c.LogLevel, "must be debug, info, warn or error"}
	}
	if c.MaxRequestBytes <= 0 {
		return &configError{"max-request-bytes", c.MaxRequestBytes, "must be positive"}
	}
	if (c.Cert == "") != (c.Key == "") {
		return &configError{"cert", c.Cert, "--cert and --key go together"}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return &configError{"cert-file", c.CertFile, "--cert-file and --key-file go together"}
	}
	if c.ClientCertAuth && c.TrustedCAFile == "" {
		return &configError{"client-cert-auth", c.ClientCertAuth, "needs --trusted-ca-file"}
	}
	if c.TrustedCAFile != "" && c.CertFile == "" {
		return &configError{"trusted-ca-file", c.TrustedCAFile, "needs --cert-file and --key-file"}
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if _, _, err := c.etcdUser(); err != nil {
		return err
	}
	if c.GossipAddr != "" {
		if err := checkHostPort(c.GossipAddr); err != nil {
			return &configError{"gossip-addr", c.GossipAddr, err.Error()}
		}
		if c.TransportAddr != "" {
			if err := checkHostPort(c.TransportAddr); err != nil {
				return &configError{"gossip-transport-addr", c.TransportAddr, err.Error()}
			}
		}
		if c.GossipKeyFile == "" {
			return &configError{"gossip-key-file", c.GossipKeyFile, "required with --gossip-addr: every fleet message is authenticated with it"}
		}
		for _, j := range c.Join {
			if err := checkHostPort(j); err != nil {
				return &configError{"join", j, err.Error()}
			}
		}
		if _, ok := gossip.LookupProfile(c.GossipProfile); !ok {
			return &configError{"gossip-profile", c.GossipProfile, "must be one of " + strings.Join(gossip.ProfileNames(), ", ")}
		}
	} else if len(c.Join) > 0 {
		return &configError{"join", strings.Join(c.Join, ","), "needs --gossip-addr"}
	}
	if c.InjectLoss < 0 || c.InjectLoss >= 1 {
		return &configError{"test-gossip-loss", c.InjectLoss, "must be in [0, 1)"}
	}
	if c.InjectDelayMin < 0 || c.InjectDelayMax < c.InjectDelayMin {
		return &configError{"test-gossip-delay-max", c.InjectDelayMax, "must be at least --test-gossip-delay-min"}
	}
	for _, p := range c.FanoutPrefixes {
		if p == "" {
			return &configError{"fanout-prefix", p, "must not be empty"}
		}
		if c.LeaseOffload && (strings.HasPrefix(p, c.ReservedPrefix) || strings.HasPrefix(c.ReservedPrefix, p)) {
			return &configError{"fanout-prefix", p, "overlaps --reserved-prefix"}
		}
	}
	if c.ProgressNotifyInterval <= 0 {
		return &configError{"watch-progress-notify-interval", c.ProgressNotifyInterval, "must be positive"}
	}
	if c.WindowEvents < 1 {
		return &configError{"fanout-window-events", c.WindowEvents, "must be positive"}
	}
	if c.WindowBytes < 1<<10 {
		return &configError{"fanout-window-bytes", c.WindowBytes, "must be at least 1024"}
	}
	if c.WindowAge <= 0 {
		return &configError{"fanout-window-age", c.WindowAge, "must be positive"}
	}
	if c.FanoutFeeders < 1 {
		return &configError{"fanout-feeders", c.FanoutFeeders, "must be at least 1"}
	}
	if c.LeaseOffload {
		if c.CarrierLeases < 1 || c.CarrierLeases > 64 {
			return &configError{"carrier-leases", c.CarrierLeases, "must be between 1 and 64"}
		}
		if c.CarrierTTL < 3 || c.CarrierTTL > lease.MaxLeaseTTL {
			return &configError{"carrier-ttl", c.CarrierTTL, "must be between 3 (seconds) and etcd's maximum lease TTL"}
		}
		if c.SessionTTL < 1 || !offload.AdoptionWindowOK(c.CarrierTTL, c.SessionTTL) {
			return &configError{"fleet-session-ttl", c.SessionTTL, "must be at least 1 (second) and leave a dead herald's carriers time to be adopted: --carrier-ttl minus a sixth of it (at least 1) must exceed it by 1"}
		}
		if c.LeaseMinTTL < 1 {
			return &configError{"lease-min-ttl", c.LeaseMinTTL, "must be at least 1 (second)"}
		}
		if c.ReservedPrefix == "" {
			return &configError{"reserved-prefix", c.ReservedPrefix, "must not be empty"}
		}
	}
	if len(c.Endpoints) == 0 {
		if err := checkHostPort(c.EmbeddedClientAddr); err != nil {
			return &configError{"embedded-client-addr", c.EmbeddedClientAddr, err.Error()}
		}
		if err := checkHostPort(c.EmbeddedPeerAddr); err != nil {
			return &configError{"embedded-peer-addr", c.EmbeddedPeerAddr, err.Error()}
		}
	}
	return nil
}

// clientScheme is the scheme clients use to reach this herald.
func (c *Config) clientScheme() string {
	if c.servesTLS() {
		return "https"
	}
	return "http"
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if port == "" {
		return fmt.Errorf("want host:port: no port")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q: want a number from 0 to 65535", port)
	}
	return nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "unix" && u.Scheme != "unixs" {
		return fmt.Errorf("want an http, https, unix or unixs URL")
	}
	if u.Host == "" {
		return fmt.Errorf("no host")
	}
	return nil
}

// checkEndpoint accepts what clientv3 accepts: a URL or a bare host:port.
func checkEndpoint(e string) error {
	if strings.Contains(e, "://") {
		return checkURL(e)
	}
	return checkHostPort(e)
}

// hasEtcdIdentity reports whether etcd may know herald as a user: by
// --user, or by the CN of its client certificate (--cert) when etcd runs
// with --client-cert-auth. herald may then face etcd with auth on, and
// checks its clients' calls with etcd (offload.Permit, the hub's permits).
func (c *Config) hasEtcdIdentity() bool { return c.User != "" || c.Cert != "" }

// etcdUser is herald's own etcd user, read as etcdctl reads --user and
// --password: with --password, --user is the whole name; without it,
// --user is name:password. herald never prompts, so a name alone is
// refused. No --user: no user (herald's calls carry no token).
func (c *Config) etcdUser() (name, password string, err error) {
	switch {
	case c.User == "" && c.Password != "":
		return "", "", &configError{"password", "set", "needs --user"}
	case c.User == "":
		return "", "", nil
	case c.Password != "":
		return c.User, c.Password, nil
	}
	name, password, ok := strings.Cut(c.User, ":")
	switch {
	case !ok:
		return "", "", &configError{"user", c.User, "needs a password: --user name:password, or --password (HERALD_PASSWORD in the environment)"}
	case name == "":
		return "", "", &configError{"user", "(set)", "names no user before the ':'"}
	}
	return name, password, nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.etcd.io/etcd/client/pkg/v3/tlsutil"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/fanout/feed"
	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/proxy"
)

// defineFlags declares every setting of `herald start`. Each flag's name is
// also its key in the config file and, upper-cased with HERALD_ in front and
// dashes as underscores, its environment variable.
func defineFlags(fs *pflag.FlagSet) {
	host, _ := os.Hostname()
	fs.String("config", "", "YAML config file (see configs/herald.yaml)")
	fs.Bool("check-config", false, "validate the configuration and exit")

	fs.String("name", host, "this herald's id, unique in the fleet")
	fs.String("listen-addr", "127.0.0.1:2379", "address to serve etcd v3 clients on")
	fs.StringSlice("advertise-client-url", nil, "client URLs of this herald, as returned by MemberList (default: from --listen-addr)")
	fs.StringSlice("endpoints", nil, "upstream etcd client URLs, comma-separated; none runs an embedded etcd")
	fs.String("data-dir", "default.herald", "directory for herald's state and the embedded etcd's data")
	fs.String("metrics-addr", "127.0.0.1:9379", "address for /metrics, /health and the fleet's /status page; empty disables them")
	fs.Bool("enable-pprof", false, "serve Go's profiles under /debug/pprof/ on --metrics-addr (etcd's flag)")
	fs.String("log-level", "info", "debug, info, warn or error")
	fs.Int("max-request-bytes", proxy.DefaultMaxRequestBytes, "largest client request, as the upstream's --max-request-bytes")

	fs.String("cacert", "", "CA bundle to verify the upstream's certificates")
	fs.String("cert", "", "client certificate for the upstream")
	fs.String("key", "", "client key for the upstream")
	fs.Bool("insecure-skip-tls-verify", false, "skip verifying the upstream etcd's TLS certificates; TLS towards etcd even without --cacert (CAUTION: for testing only)")
	fs.Duration("endpoints-auto-sync-interval", 0, "refresh --endpoints from the upstream's member list this often (0 disables)")
	fs.String("user", "", "herald's own etcd user, name:password or name with --password (etcdctl's --user): with auth on, the fan-out reads and virtual leases write as it, after etcd has judged each client's request")
	fs.Int("auth-token-ttl", 300, "etcd's --auth-token-ttl in seconds: a client's simple token is shown to etcd at least every half of it while its keepalives flow through herald")
	fs.String("password", "", "password of --user (etcdctl's --password); HERALD_PASSWORD in the environment keeps it out of the process list")

	fs.String("cert-file", "", "certificate served to herald's clients")
	fs.String("key-file", "", "key of --cert-file")
	fs.String("trusted-ca-file", "", "CA bundle for client certificates")
	fs.Bool("client-cert-auth", false, "require client certificates signed by --trusted-ca-file")
	fs.String("client-crl-file", "", "certificate revocation list (DER) for client certificates; a revoked certificate is refused at the handshake")
	fs.Bool("auto-tls", false, "serve clients TLS with a generated self-signed certificate (kept in <data-dir>/fixtures/proxy); ignored with --cert-file")
	fs.Uint("self-signed-cert-validity", 1, "validity of the --auto-tls certificate, in years")
	fs.String("tls-min-version", string(tlsutil.TLSVersion12), "minimum TLS version served to clients: TLS1.2 or TLS1.3")
	fs.String("tls-max-version", string(tlsutil.TLSVersionDefault), "maximum TLS version served to clients: TLS1.2 or TLS1.3 (empty defers to Go)")
	fs.StringSlice("listen-cipher-suites", nil, "TLS cipher suites served to clients, comma-separated Go names (empty: Go's choice; none can be set for TLS1.3)")

	fs.String("gossip-addr", "", "host:port for fleet membership (memberlist); the broadcast transport uses the next port. Empty: no fleet")
	fs.String("gossip-transport-addr", "", "host:port for the fleet's event broadcast (TCP); default: --gossip-addr's port + 1")
	fs.StringSlice("join", nil, "fleet seeds to join, host:port, comma-separated")
	fs.String("gossip-key-file", "", "the fleet's shared key (16, 24 or 32 bytes, raw or base64)")
	fs.String("gossip-profile", "lan", "membership timing and broadcast-tree parameters together: lan (one datacentre), wan (10–20 ms links, lossy), or local (many heralds on one machine)")

	fs.StringSlice("fanout-prefix", nil, "key prefixes whose watches the fleet fans out (one or two upstream watches for the whole fleet), comma-separated")
	window := fanout.DefaultConfig()
	fs.Duration("watch-progress-notify-interval", window.ProgressInterval, "progress notification interval of watches served from the fan-out cache (etcd's flag of the same name)")
	fs.Int("fanout-window-events", window.MaxEvents, "events the fan-out cache keeps for watches from past revisions")
	fs.Int("fanout-window-bytes", window.MaxBytes, "bytes of events the fan-out cache keeps")
	fs.Duration("fanout-window-age", window.MaxAge, "how long the fan-out cache keeps an event")
	fs.Bool("fanout-cache-all", false, "keep every key of the fan-out prefixes in this herald's cache, not only the ranges its clients watch and read")
	fs.Int("fanout-feeders", feed.DefaultFeeders, "how many heralds of the fleet hold the upstream watch of the fan-out prefixes")

	leases := offload.DefaultOptions()
	fs.Bool("lease-offload", true, "hold clients' leases in herald (virtual leases) instead of at etcd")
	fs.Int("carrier-leases", leases.Carriers, "upstream carrier leases this herald keeps alive for its virtual leases")
	fs.Int64("carrier-ttl", leases.CarrierTTL, "shortest TTL of the carrier leases in seconds (a lease hangs on a carrier of 1, 2, 4, … times it, at least 1.5 times its own TTL): how long the fleet has at least to adopt a dead herald's leases")
	fs.Int64("fleet-session-ttl", leases.SessionTTL, "TTL in seconds of the herald's session at etcd: a dead herald's leases wait about this long for a successor")
	fs.Int64("lease-min-ttl", leases.MinTTL, "smallest virtual lease TTL in seconds (etcd's is 2 at its defaults)")
	fs.String("reserved-prefix", strings.Trim(strconv.Quote(leases.ReservedPrefix), `"`), "key prefix for herald's lease records upstream, hidden from clients (Go escapes allowed)")

	fs.String("embedded-client-addr", "127.0.0.1:12379", "client address of the embedded etcd")
	fs.String("embedded-peer-addr", "127.0.0.1:12380", "peer address of the embedded etcd")

	fs.Float64("test-gossip-loss", 0, "TESTING ONLY: drop this share of fleet broadcast frames")
	fs.Duration("test-gossip-delay-min", 0, "TESTING ONLY: delay each fleet broadcast frame by at least this")
	fs.Duration("test-gossip-delay-max", 0, "TESTING ONLY: delay each fleet broadcast frame by at most this")
}

// loadConfig merges flags, HERALD_* variables and the config file, in that
// order of precedence, into a Config.
func loadConfig(cmd *cobra.Command) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix("HERALD")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	if file := v.GetString("config"); file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, &configError{"config", file, err.Error()}
		}
		if err := checkKnownKeys(v, cmd.Flags()); err != nil {
			return nil, err
		}
	}
	if err := checkTypes(v, cmd.Flags()); err != nil {
		return nil, err
	}
	cfg := &Config{
		Name:                   v.GetString("name"),
		ListenAddr:             v.GetString("listen-addr"),
		AdvertiseClientURLs:    list(v, "advertise-client-url"),
		Endpoints:              list(v, "endpoints"),
		DataDir:                v.GetString("data-dir"),
		MetricsAddr:            strings.TrimPrefix(v.GetString("metrics-addr"), "http://"),
		EnablePprof:            v.GetBool("enable-pprof"),
		LogLevel:               v.GetString("log-level"),
		MaxRequestBytes:        v.GetInt("max-request-bytes"),
		CACert:                 v.GetString("cacert"),
		Cert:                   v.GetString("cert"),
		Key:                    v.GetString("key"),
		InsecureSkipTLSVerify:  v.GetBool("insecure-skip-tls-verify"),
		User:                   v.GetString("user"),
		Password:               v.GetString("password"),
		AuthTokenTTL:           v.GetInt("auth-token-ttl"),
		CertFile:               v.GetString("cert-file"),
		KeyFile:                v.GetString("key-file"),
		TrustedCAFile:          v.GetString("trusted-ca-file"),
		ClientCertAuth:         v.GetBool("client-cert-auth"),
		ClientCRLFile:          v.GetString("client-crl-file"),
		AutoTLS:                v.GetBool("auto-tls"),
		TLSMinVersion:          v.GetString("tls-min-version"),
		TLSMaxVersion:          v.GetString("tls-max-version"),
		CipherSuites:           list(v, "listen-cipher-suites"),
		EmbeddedClientAddr:     v.GetString("embedded-client-addr"),
		EmbeddedPeerAddr:       v.GetString("embedded-peer-addr"),
		GossipAddr:             v.GetString("gossip-addr"),
		TransportAddr:          v.GetString("gossip-transport-addr"),
		Join:                   list(v, "join"),
		GossipKeyFile:          v.GetString("gossip-key-file"),
		GossipProfile:          v.GetString("gossip-profile"),
		InjectLoss:             v.GetFloat64("test-gossip-loss"),
		InjectDelayMin:         v.GetDuration("test-gossip-delay-min"),
		InjectDelayMax:         v.GetDuration("test-gossip-delay-max"),
		FanoutPrefixes:         list(v, "fanout-prefix"),
		FanoutFeeders:          v.GetInt("fanout-feeders"),
		FanoutCacheAll:         v.GetBool("fanout-cache-all"),
		ProgressNotifyInterval: v.GetDuration("watch-progress-notify-interval"),
		WindowEvents:           v.GetInt("fanout-window-events"),
		WindowBytes:            v.GetInt("fanout-window-bytes"),
		WindowAge:              v.GetDuration("fanout-window-age"),
		LeaseOffload:           v.GetBool("lease-offload"),
		CarrierLeases:          v.GetInt("carrier-leases"),
		CarrierTTL:             v.GetInt64("carrier-ttl"),
		SessionTTL:             v.GetInt64("fleet-session-ttl"),
		LeaseMinTTL:            v.GetInt64("lease-min-ttl"),
	}
	prefix, err := unescape(v.GetString("reserved-prefix"))
	if err != nil {
		return nil, &configError{"reserved-prefix", v.GetString("reserved-prefix"), err.Error()}
	}
	cfg.ReservedPrefix = prefix
	if _, zk := cfg.zooKeeperURL(); zk && !v.IsSet("fanout-feeders") {
		// Two followers of ZooKeeper may collapse changes differently
		// (README, ZooKeeper upstream): one feeder gives the fleet one
		// history.
		cfg.FanoutFeeders = 1
	}
	if cfg.EndpointsAutoSyncInterval, err = strictDuration(v, "endpoints-auto-sync-interval"); err != nil {
		return nil, err
	}
	if cfg.SelfSignedCertValidity, err = strictUint(v, "self-signed-cert-validity"); err != nil {
		return nil, err
	}
	if len(cfg.AdvertiseClientURLs) == 0 {
		cfg.AdvertiseClientURLs = []string{cfg.ListenAddr}
	}
	// grpc-proxy takes host:port as well as URLs; herald's peers need the
	// scheme, which is the one herald serves.
	for i, u := range cfg.AdvertiseClientURLs {
		if !strings.Contains(u, "://") {
			cfg.AdvertiseClientURLs[i] = cfg.clientScheme() + "://" + u
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkFiles(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// unescape reads a string with Go escapes (\x00, \n, …), so that a binary
// key prefix can be given on the command line or in YAML.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	return strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
}

// strictDuration reads a duration setting, refusing what viper would read
// as 0 ("5", "soon" from the environment or the file).
func strictDuration(v *viper.Viper, key string) (time.Duration, error) {
	raw := v.GetString(key)
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, &configError{key, raw, "want a duration such as 30s or 5m"}
	}
	return d, nil
}

// strictUint reads a whole number setting, refusing what viper would read
// as 0 ("-1", "one").
func strictUint(v *viper.Viper, key string) (uint, error) {
	raw := v.GetString(key)
	n, err := strconv.ParseUint(raw, 10, 0)
	if err != nil {
		return 0, &configError{key, raw, "want a whole number, 0 or more"}
	}
	return uint(n), nil
}

// list reads a list setting that may come as a YAML list, or as one
// comma-separated string from a flag or an environment variable.
func list(v *viper.Viper, key string) []string {
	var out []string
	for _, s := range v.GetStringSlice(key) {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// checkKnownKeys refuses a config file key that no flag defines: a typo
// would otherwise be ignored silently.
func checkKnownKeys(v *viper.Viper, fs *pflag.FlagSet) error {
	for _, k := range v.AllKeys() {
		if fs.Lookup(k) == nil {
			return &configError{"config", v.ConfigFileUsed(), fmt.Sprintf("unknown setting %q", k)}
		}
	}
	return nil
}

// usageError is a command line that does not parse (an unknown flag, a
// value of the wrong type).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

// exitCode maps an error from the command to the process's exit code:
// 2 for a bad configuration or command line, 1 for anything else.
func exitCode(err error) int {
	var ce *configError
	var ue *usageError
	if errors.As(err, &ce) || errors.As(err, &ue) {
		return 2
	}
	return 1
}

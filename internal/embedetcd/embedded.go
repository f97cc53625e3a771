package embedetcd

import (
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Config places the single-member etcd that herald runs when no upstream
// is configured.
type Config struct {
	// DataDir holds the member's data; a restart with the same directory
	// keeps every key.
	DataDir string
	// ClientAddr and PeerAddr are host:port pairs on loopback.
	ClientAddr, PeerAddr string
	// MaxRequestBytes is etcd's --max-request-bytes.
	MaxRequestBytes uint
	// BcryptCost is etcd's --bcrypt-cost, the cost of hashing a user's
	// password (0: etcd's default, bcrypt's 10). Tests lower it to 4, the
	// least bcrypt takes: an authenticate at the default cost takes about
	// a second under the race detector.
	BcryptCost uint
	// Logger receives the member's logs (see slogLevel for the levels);
	// nil discards them.
	Logger *slog.Logger
}

// Member is a running in-process etcd member.
type Member struct {
	etcd    *embed.Etcd
	closing *atomic.Bool // tells the logger that Close has begun
}

// Start starts the member and waits, up to a minute, until it serves
// clients.
func Start(cfg Config) (*Member, error) {
	clientURL, err := url.Parse("http://" + cfg.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: client address %q: %w", cfg.ClientAddr, err)
	}
	peerURL, err := url.Parse("http://" + cfg.PeerAddr)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: peer address %q: %w", cfg.PeerAddr, err)
	}
	ec := embed.NewConfig()
	ec.Name = "herald-embedded"
	ec.Dir = filepath.Join(cfg.DataDir, "etcd")
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	if cfg.MaxRequestBytes > 0 {
		ec.MaxRequestBytes = cfg.MaxRequestBytes
	}
	if cfg.BcryptCost > 0 {
		ec.BcryptCost = cfg.BcryptCost
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	closing := new(atomic.Bool)
	ec.LogLevel = "debug" // the handler filters, at herald's level
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(newSlogCore(log.With("area", "embedded-etcd").Handler(), closing)))

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: start member in %s: %w", ec.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return &Member{etcd: e, closing: closing}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedetcd: member: %w", err)
	case <-time.After(time.Minute):
		e.Close()
		return nil, fmt.Errorf("embedetcd: member in %s not ready after a minute", ec.Dir)
	}
}

// Endpoint is the member's client URL.
func (e *Member) Endpoint() string { return e.etcd.Config().AdvertiseClientUrls[0].String() }

// Err reports a fatal error of the member after start.
func (e *Member) Err() <-chan error { return e.etcd.Err() }

// Close stops the member.
func (e *Member) Close() {
	e.closing.Store(true)
	e.etcd.Close()
}

package fanout

import (
	"errors"
	"fmt"
	"time"
)

// Config configures a Cache. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Prefixes are the fan-out prefixes (e.g. "/services/"). Required.
	Prefixes []string

	// The event window keeps recent events while all three bounds hold:
	// at most MaxEvents events, MaxBytes bytes (protobuf size) and, for a
	// positive MaxAge, events younger than MaxAge (by the Tick clock).
	MaxEvents int
	MaxBytes  int
	MaxAge    time.Duration

	// MaxHeldBatches bounds the batches held behind a gap.
	MaxHeldBatches int

	// OnDemand keeps only the ranges this cache is asked for (held.go):
	// the events of a range from the first watch of it on, and its
	// key-values from the first serializable Range of it on, fetched with
	// Wants and LoadRange. Off, the cache keeps every key and event of the
	// prefixes from Load on.
	OnDemand bool
	// Linger is how long an on-demand range stays kept after its last
	// watcher left or its last Range was served (0: 10 minutes).
	Linger time.Duration

	// ProgressInterval is etcd's --experimental-watch-progress-notify-interval
	// (10 min by default; etcd adds a random jitter of up to 10%, which a
	// driver may model by varying the interval per Cache).
	// Negative disables progress notifications.
	ProgressInterval time.Duration

	// MaxResponseBytes is the fragmentation limit: etcd's
	// --max-request-bytes plus its 512 KiB gRPC overhead
	// (ServerConfig.MaxRequestBytesWithOverhead).
	MaxResponseBytes int

	// MaxPendingBytes bounds the output of one watcher that the driver has
	// not collected with Ready. A watcher past it stops receiving (etcd's
	// "victim", then "unsynced") and is cancelled with compact_revision if
	// the window moves past the events it still needs.
	MaxPendingBytes int

	// MaxRevsPerResponse is etcd's watchBatchMaxRevs: the most distinct
	// revisions sent to a catching-up watcher in one response.
	MaxRevsPerResponse int

	// ClusterID and MemberID go into every response header.
	ClusterID uint64
	MemberID  uint64
}

// DefaultMaxRequestBytes is etcd's default --max-request-bytes (1.5 MiB),
// and GRPCOverheadBytes what etcd adds to --max-request-bytes for its gRPC
// message limit (ServerConfig.MaxRequestBytesWithOverhead). They are
// stated here, in the lowest package that needs them (a fragment of a
// watch response must fit that limit), and derived everywhere else
// (proxy.DefaultMaxRequestBytes, proxy.MaxRequestBytesWithOverhead), so
// that herald's limits cannot drift apart.
const (
	DefaultMaxRequestBytes = 1536 * 1024
	GRPCOverheadBytes      = 512 * 1024
)

// DefaultConfig returns the defaults: etcd's progress interval (10 min) and
// request limit (1.5 MiB + 512 KiB), etcd's watchBatchMaxRevs (1000), and a
// window of 100k events / 64 MiB / 10 min.
func DefaultConfig() Config {
	return Config{
		MaxEvents:          100_000,
		MaxBytes:           64 << 20,
		MaxAge:             10 * time.Minute,
		MaxHeldBatches:     4096,
		Linger:             10 * time.Minute,
		ProgressInterval:   10 * time.Minute,
		MaxResponseBytes:   DefaultMaxRequestBytes + GRPCOverheadBytes,
		MaxPendingBytes:    8 << 20,
		MaxRevsPerResponse: 1000,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxEvents == 0 {
		c.MaxEvents = d.MaxEvents
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = d.MaxBytes
	}
	if c.MaxAge == 0 {
		c.MaxAge = d.MaxAge
	}
	if c.MaxHeldBatches == 0 {
		c.MaxHeldBatches = d.MaxHeldBatches
	}
	if c.Linger == 0 {
		c.Linger = d.Linger
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = d.ProgressInterval
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = d.MaxResponseBytes
	}
	if c.MaxPendingBytes == 0 {
		c.MaxPendingBytes = d.MaxPendingBytes
	}
	if c.MaxRevsPerResponse == 0 {
		c.MaxRevsPerResponse = d.MaxRevsPerResponse
	}
	return c
}

func (c Config) validate() error {
	if len(c.Prefixes) == 0 {
		return errors.New("fanout: no fan-out prefix configured")
	}
	for _, p := range c.Prefixes {
		if p == "" {
			return errors.New("fanout: empty fan-out prefix")
		}
	}
	switch {
	case c.MaxEvents < 0, c.MaxBytes < 0, c.MaxAge < 0, c.MaxHeldBatches < 0, c.Linger < 0,
		c.MaxResponseBytes < 0, c.MaxPendingBytes < 0, c.MaxRevsPerResponse < 0:
		return fmt.Errorf("fanout: negative limit in config %+v", c)
	}
	return nil
}

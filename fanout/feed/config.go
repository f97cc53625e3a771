package feed

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/upstream"
)

// Defaults of Config, as README.md documents them for the fan-out.
const (
	DefaultFeeders       = 2
	DefaultRepairDelay   = 300 * time.Millisecond
	DefaultProgressEvery = 500 * time.Millisecond
)

// Config configures a Feed.
type Config struct {
	// Name is this herald's name in the fleet (as Bus.Members lists it).
	Name string
	// Topic names the feed: it salts the feeder choice (so that several
	// feeds spread their feeders over the fleet) and labels the logs. It is
	// the Bus topic by convention, e.g. "fanout" or "leases".
	Topic string
	// Prefixes are the key prefixes the feed replicates.
	Prefixes []string
	// Feeders is how many heralds of the fleet watch etcd (DefaultFeeders).
	Feeders int
	// RepairDelay is how long a gap may wait for the broadcast tree's own
	// repair before the Feed fetches it from etcd (DefaultRepairDelay).
	RepairDelay time.Duration
	// ProgressEvery is how long a feeder lets pass without a batch before
	// it asks etcd for progress: the fleet's heartbeat (DefaultProgressEvery).
	ProgressEvery time.Duration

	// KV and Watch reach the coordinator: the Feed loads its prefixes
	// with KV.Range and follows them with one watch stream. Its calls
	// carry the values of the context given to Start, which must hold no
	// client metadata (no client's token): the feed reads as herald itself.
	KV    upstream.KV
	Watch upstream.Watches
	// Bus is the feed's topic of the fleet bus; nil for a herald on its own.
	Bus Bus
	// Sink is the replica the Feed keeps current. Required.
	Sink Sink

	// Witness, when set, holds the revision etcd reported on answers herald
	// gets anyway (its session keepalives): a feeder's heartbeat is cut
	// from it, without a progress request, when the feed already holds
	// that revision (follow). nil: every heartbeat asks etcd. Only an
	// upstream whose answers carry etcd's store revision may set it.
	Witness *upstream.Witness

	// Clock times the repair delay, the feeder's heartbeat and the feeder
	// choice's recheck (nil: the wall clock); tests move it instead of
	// sleeping.
	Clock clock.Clock

	Logger *slog.Logger // nil discards
	// Metrics count what the feed does; nil counts into a set of its own,
	// registered nowhere (see NewMetrics).
	Metrics *Metrics
}

func (c Config) withDefaults() Config {
	if c.Feeders <= 0 {
		c.Feeders = DefaultFeeders
	}
	if c.RepairDelay <= 0 {
		c.RepairDelay = DefaultRepairDelay
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Clock = clock.Or(c.Clock)
	return c
}

func (c Config) validate() error {
	switch {
	case c.Name == "":
		return errors.New("feed: Config.Name is required")
	case c.Topic == "":
		return errors.New("feed: Config.Topic is required")
	case len(c.Prefixes) == 0:
		return fmt.Errorf("feed %s: no prefix to feed", c.Topic)
	case c.KV == nil || c.Watch == nil:
		return fmt.Errorf("feed %s: Config.KV and Config.Watch are required", c.Topic)
	case c.Sink == nil:
		return fmt.Errorf("feed %s: Config.Sink is required", c.Topic)
	}
	for _, p := range c.Prefixes {
		if p == "" {
			return fmt.Errorf("feed %s: empty prefix", c.Topic)
		}
	}
	return nil
}

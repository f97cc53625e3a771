package offload

import (
	"errors"
	"fmt"
	"time"

	"github.com/heraldproj/herald/fanout/feed"
	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/upstream"
)

// Options configure lease offloading.
type Options struct {
	// Name is this herald's name, unique in the fleet: its session key and
	// the owner named in its carriers' records.
	Name string
	// URL is this herald's advertised client URL, where peers forward the
	// lease calls of the leases it owns (published in its session).
	URL string
	// Carriers is how many carrier leases this herald grants for its own
	// grants (carriers adopted from dead peers come on top).
	Carriers int
	// CarrierTTL is the shortest carrier TTL in seconds: a lease hangs on a
	// carrier of TTL CarrierTTL × 2^k, at least 1.5 times its own
	// (lease.CarrierTTLFor), renewed every sixth of it
	// (lease.CarrierRenewPeriod). A dead herald's carriers live at least
	// CarrierTTL minus one renewal period after its death: the fleet's time
	// to adopt them, which must exceed the session TTL (validate).
	CarrierTTL int64
	// SessionTTL is the TTL in seconds of the herald's session lease: how
	// long after its death a herald's leases wait for their successor.
	SessionTTL int64
	// MinTTL is the smallest virtual lease TTL in seconds (etcd's is 2 at
	// its defaults; herald allows 1).
	MinTTL int64
	// ReservedPrefix is the key prefix of herald's records upstream.
	ReservedPrefix string
	// ExpiryInterval is the longest time between two expiry checks.
	ExpiryInterval time.Duration
	// MaxIntakeLag bounds how long expiry waits for herald to catch up on
	// reading its clients' keepalives (see intake).
	MaxIntakeLag time.Duration
	// MaxTxnOps is the upstream's --max-txn-ops.
	MaxTxnOps int
	// TakeoverStagger is how long the herald ranked k for an orphaned
	// carrier waits, k times, before it tries to take the carrier over.
	TakeoverStagger time.Duration
	// ClockMargin is taken off every lease validity herald derives from
	// etcd's answers, for clocks that run at different rates.
	ClockMargin time.Duration
	// Bus is the fleet's topic for the lease index ("leases"); nil for a
	// herald on its own (it watches its reserved keyspace itself).
	Bus feed.Bus
	// Feeders is how many heralds of the fleet watch the reserved keyspace
	// at etcd for everyone.
	Feeders int
	// HoldTimeout bounds how long a lease call waits while its lease's owner
	// is unknown or being replaced, before herald gives up on it.
	HoldTimeout time.Duration
	// CheckPermissions: herald has an etcd user of its own, so etcd may
	// have auth on, and every client's lease call is checked with etcd
	// (Permit) before herald acts for it, a tokenless client's too. Without
	// it only calls that carry a token are checked.
	CheckPermissions bool
	// Witness, when set, is told the revision of every answer to the
	// session's and carriers' keepalives, for the fleet's feeders to cut
	// their heartbeats from (upstream.Witness); the lease index's own feed
	// reads it too. Only an etcd upstream's answers carry etcd's revision.
	Witness *upstream.Witness
	// Clock is the virtual leases' clock (nil: the wall clock): their TTLs,
	// keepalives and expiry, and the expiry loop's timer. What herald learns
	// from etcd (its session's and carriers' validity, their renewals, the
	// ID epoch) runs on the wall clock whatever this is, as etcd's own
	// leases do. Tests move it to expire leases without sleeping.
	Clock clock.Clock
}

// DefaultOptions are the defaults of `herald start` (Name and URL unset).
func DefaultOptions() Options {
	return Options{
		Carriers:        2,
		CarrierTTL:      15,
		SessionTTL:      2,
		MinTTL:          lease.DefaultMinTTL,
		ReservedPrefix:  "\x00herald/",
		ExpiryInterval:  100 * time.Millisecond,
		MaxIntakeLag:    5 * time.Second,
		MaxTxnOps:       lease.DefaultMaxOpsPerTxn,
		TakeoverStagger: time.Second,
		ClockMargin:     100 * time.Millisecond,
		HoldTimeout:     10 * time.Second,
		Feeders:         feed.DefaultFeeders,
	}
}

func (o Options) validate() error {
	switch {
	case o.Name == "":
		return errors.New("offload: no herald name")
	case o.Carriers <= 0, o.CarrierTTL <= 0, o.SessionTTL <= 0:
		return errors.New("offload: carriers, carrier TTL and session TTL must be positive")
	case o.ReservedPrefix == "":
		return errors.New("offload: no reserved prefix")
	case o.ExpiryInterval <= 0, o.MaxTxnOps < 2, o.TakeoverStagger <= 0, o.HoldTimeout <= 0:
		return errors.New("offload: options incomplete (start from DefaultOptions)")
	case !AdoptionWindowOK(o.CarrierTTL, o.SessionTTL):
		return fmt.Errorf("offload: carrier TTL %d s leaves a dead herald's carriers too little life after its session of %d s ends: "+
			"it must exceed the session TTL by 1 s plus a carrier's renewal period", o.CarrierTTL, o.SessionTTL)
	}
	return nil
}

// AdoptionWindowOK reports whether carriers of TTL carrierTTL outlive a
// dead herald's session of sessionTTL by enough for a successor to adopt
// them: a carrier was last renewed up to one renewal period before the
// death; the session ends at etcd up to sessionTTL plus etcd's 500 ms
// expiry tick after it; the takeover takes a few round trips — 1 s is left
// for the tick and the takeover.
func AdoptionWindowOK(carrierTTL, sessionTTL int64) bool {
	return float64(carrierTTL)-lease.CarrierRenewPeriod(carrierTTL) >= float64(sessionTTL)+1
}

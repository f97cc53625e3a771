package offload

import (
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/lease"
)

// LeaseError maps the lease core's errors to etcd's, as clients must see
// them.
func LeaseError(err error) error {
	switch {
	case errors.Is(err, lease.ErrLeaseNotFound):
		return rpctypes.ErrGRPCLeaseNotFound
	case errors.Is(err, lease.ErrLeaseExists):
		return rpctypes.ErrGRPCLeaseExist
	case errors.Is(err, lease.ErrLeaseTTLTooLarge):
		return rpctypes.ErrGRPCLeaseTTLTooLarge
	}
	return err
}

// Verdict says whether this herald answered a lease call itself.
type Verdict int

const (
	// Answered: the answer (or error) is this herald's, as the lease's owner.
	Answered Verdict = iota
	// NotHeld: this herald does not hold the lease; Route the call.
	NotHeld
	// Hold: this herald holds the lease but cannot vouch for it right now
	// (its session or the lease's carrier is not confirmed at etcd); wait
	// for Changed and try again.
	Hold
)

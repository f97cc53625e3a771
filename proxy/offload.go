package proxy

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/upstream"
)

// offloader is the lease offloader (package lease/offload) as the gRPC
// services use it, with the peers it forwards lease calls to.
type offloader struct {
	*offload.Offloader
	ks    lease.Keyspace
	peers *peers
	auth  *authState // etcd's auth state, for keepalive verdicts
	// tokenTTL is etcd's --auth-token-ttl (Options.AuthTokenTTL).
	tokenTTL time.Duration
	// waiting counts the lease calls and keepalives held now, waiting
	// for their lease's owner (herald_lease_calls_waiting).
	waiting atomic.Int64
}

// tokenless reports whether a client request carries no auth token.
func tokenless(ctx context.Context) bool {
	return !upstream.HasToken(ctx)
}

// actsFor reports whether virtual leases are for this client: it has no
// auth token, or herald has an etcd identity of its own. With one, each
// call is first checked with etcd as the client's (offload.Permit) and
// then made as herald; without one, a client with a token keeps etcd's
// leases (herald could not write for it).
func (o *offloader) actsFor(ctx context.Context) bool {
	return tokenless(ctx) || o.ChecksPermissions()
}

// serves reports whether this request gets virtual leases: offloading is
// up, and they are for this client (actsFor).
func (o *offloader) serves(ctx context.Context) bool {
	r, _ := o.Readiness()
	return r == offload.Ready && o.Active() && o.actsFor(ctx)
}

// unready is the answer to a lease call that would use virtual leases
// while the offloader is not up yet (internal/startup retries it), nil
// otherwise.
func (o *offloader) unready(ctx context.Context) error {
	if o == nil || !o.actsFor(ctx) {
		return nil
	}
	r, why := o.Readiness()
	if r != offload.Starting {
		return nil
	}
	return status.Errorf(codes.Unavailable, "herald: virtual leases are not served yet, herald retries starting them (%s)", why)
}

package proxy

import (
	"context"

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
}

// tokenless reports whether a client request carries no auth token. Only
// such requests use virtual leases and the fan-out cache: with etcd auth on,
// a Put attached to a carrier would be checked against every key on the
// carrier (etcd's checkLeasePuts), and the cache does not check
// permissions, so authenticated clients are passed through and etcd
// enforces everything as it does for direct clients.
func tokenless(ctx context.Context) bool {
	return !upstream.HasToken(ctx)
}

// serves reports whether this request gets virtual leases: offloading is
// active and the client has no auth token.
func (o *offloader) serves(ctx context.Context) bool {
	r, _ := o.Readiness()
	return r == offload.Ready && o.Active() && tokenless(ctx)
}

// unready is the answer to a lease call that would use virtual leases
// while the offloader is not up yet (internal/startup retries it), nil
// otherwise.
func (o *offloader) unready(ctx context.Context) error {
	if o == nil || !tokenless(ctx) {
		return nil
	}
	r, why := o.Readiness()
	if r != offload.Starting {
		return nil
	}
	return status.Errorf(codes.Unavailable, "herald: virtual leases are not served yet, herald retries starting them (%s)", why)
}

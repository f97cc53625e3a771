package proxy

import (
	"context"
	"sync/atomic"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/lease/offload"
)

// OffloadOptions configure lease offloading. The zero value disables it.
type OffloadOptions struct {
	Enabled bool
	offload.Options
}

// DefaultOffloadOptions are the defaults of `herald start`.
func DefaultOffloadOptions() OffloadOptions {
	return OffloadOptions{Enabled: true, Options: offload.DefaultOptions()}
}

// offloader is the lease offloader (package lease/offload) as the gRPC
// services use it, with the peers it forwards lease calls to.
type offloader struct {
	*offload.Offloader
	ks    lease.Keyspace
	peers *peers

	state   atomic.Int32 // offloadStarting, offloadReady or offloadOff (startup.go)
	lastErr atomic.Value // string: why the last start failed
}

// tokenless reports whether a client request carries no auth token. Only
// such requests use virtual leases and the fan-out cache: with etcd auth on,
// a Put attached to a carrier would be checked against every key on the
// carrier (etcd's checkLeasePuts), and the cache does not check
// permissions, so authenticated clients are passed through and etcd
// enforces everything as it does for direct clients.
func tokenless(ctx context.Context) bool {
	return len(metadata.ValueFromIncomingContext(ctx, rpctypes.TokenFieldNameGRPC)) == 0
}

// serves reports whether this request gets virtual leases: offloading is
// active and the client has no auth token.
func (o *offloader) serves(ctx context.Context) bool {
	return o.state.Load() == offloadReady && o.Active() && tokenless(ctx)
}

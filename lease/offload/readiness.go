package offload

import (
	"context"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/upstream"
)

// Readiness is the offloader's state as the gRPC services see it.
type Readiness int32

const (
	// Starting: not up yet (TryStart retries); virtual-lease calls are
	// answered Unavailable meanwhile.
	Starting Readiness = iota
	// Ready: clients get virtual leases.
	Ready
	// Off: etcd refused herald's own writes (auth is on, and herald has no
	// etcd user or its user lacks the permissions it needs); leases pass
	// through to etcd.
	Off
)

// Readiness reports the offloader's state and, while it is Starting, why
// its last start failed ("" before the first try). It does not block.
func (o *Offloader) Readiness() (Readiness, string) {
	r := Readiness(o.readiness.Load())
	if r != Starting {
		return r, ""
	}
	why, _ := o.startErr.Load().(string)
	return r, why
}

// TryStart is Start for the background start (internal/startup): it
// records the outcome as the offloader's Readiness, logs it, and reports
// whether the offloader is settled (Ready or Off). ctx is herald's own;
// the calls carry no client metadata.
func (o *Offloader) TryStart(ctx context.Context) bool {
	if Readiness(o.readiness.Load()) != Starting {
		return true
	}
	err := o.Start(upstream.AsHerald(ctx))
	switch {
	case err == nil:
		o.readiness.Store(int32(Ready))
		o.log.Info("lease offload is up: clients get virtual leases")
		return true
	case isAuthError(err):
		o.readiness.Store(int32(Off))
		o.log.Warn("lease offloading is off: etcd refuses herald's own writes (auth is enabled, and herald has no --user or its user may not write the reserved prefix); leases pass through to etcd", "err", err)
		return true
	default:
		o.startErr.Store(err.Error())
		o.log.Warn("lease offload cannot start yet; herald serves and retries (virtual-lease calls are Unavailable meanwhile)", "err", err)
		return false
	}
}

// isAuthError reports whether etcd refused a request for want of
// credentials or permission (the error may be wrapped, so by message).
func isAuthError(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range []error{rpctypes.ErrUserEmpty, rpctypes.ErrPermissionDenied, rpctypes.ErrInvalidAuthToken} {
		if strings.Contains(err.Error(), e.Error()) {
			return true
		}
	}
	return false
}

package proxy

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/internal/backoff"
)

// herald serves clients whatever state etcd is in when it starts: out of
// reach, a learner, over its space quota. What needs etcd's cooperation —
// the lease offloader (it reads the lease index, takes back a previous
// run's carriers) and the fan-out feed (it loads the prefixes) — is tried
// at Start, and then again in the background until it comes up. Until then
// requests pass through to etcd, except lease calls of clients that would
// get virtual leases: they are answered Unavailable (offloadStarting), so
// that a client's lease held elsewhere in the fleet is never judged by an
// etcd that does not know it.

// The states of the lease offloader, as the services see it.
const (
	offloadStarting int32 = iota // not up yet: virtual-lease calls are Unavailable
	offloadReady                 // clients without a token get virtual leases
	offloadOff                   // etcd refused herald's writes: leases pass through
)

// Start brings up the lease offloader and the fan-out feed. When etcd does
// not let them start, it logs why and keeps trying in the background (until
// Stop); Start itself returns at once then, and herald serves meanwhile.
func (s *Server) Start(ctx context.Context) error {
	if s.startPending(ctx) {
		return nil
	}
	bg, cancel := context.WithCancel(context.Background())
	s.retryStop = cancel
	s.retryDone = make(chan struct{})
	go func() {
		defer close(s.retryDone)
		s.retryStart(bg)
	}()
	return nil
}

// startPending tries what is not up yet once, and reports whether
// everything is up.
func (s *Server) startPending(ctx context.Context) bool {
	up := true
	if o := s.offload; o != nil && o.state.Load() == offloadStarting {
		err := o.Start(internalCtx(ctx))
		switch {
		case err == nil:
			o.state.Store(offloadReady)
			s.log.Info("lease offload is up: clients without an auth token get virtual leases")
		case isAuthError(err):
			o.state.Store(offloadOff)
			s.log.Warn("lease offloading is off: etcd refuses herald's own writes (auth is enabled and herald has no credentials); leases pass through to etcd", "err", err)
		default:
			up = false
			o.lastErr.Store(err.Error())
			s.log.Warn("lease offload cannot start yet; herald serves and retries (virtual-lease calls are Unavailable meanwhile)", "err", err)
		}
	}
	if h := s.hub; h != nil && !h.Ready() {
		if err := h.Start(ctx); err != nil {
			up = false
			s.log.Warn("fan-out cache cannot load yet; watches pass through to etcd while herald retries", "err", err)
		} else {
			s.log.Info("fan-out is up: watches of the fan-out prefixes are served from the cache")
		}
	}
	return up
}

// retryStart calls startPending with a growing, jittered pause (0.5 s to
// 5 s) until everything is up or ctx ends.
func (s *Server) retryStart(ctx context.Context) {
	b := backoff.New(500*time.Millisecond, 5*time.Second)
	for b.Wait(ctx) {
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		up := s.startPending(attempt)
		cancel()
		if up || ctx.Err() != nil {
			return
		}
	}
}

// stopRetrying ends the background start and waits for it.
func (s *Server) stopRetrying() {
	if s.retryStop != nil {
		s.retryStop()
		<-s.retryDone
	}
}

// unready is the answer to a lease call that would use virtual leases
// while the offloader is not up yet, nil otherwise.
func (o *offloader) unready(ctx context.Context) error {
	if o == nil || o.state.Load() != offloadStarting || !tokenless(ctx) {
		return nil
	}
	why, _ := o.lastErr.Load().(string)
	return status.Errorf(codes.Unavailable, "herald: virtual leases are not served yet, herald retries starting them (%s)", why)
}

// Ready reports whether the lease offloader and the fan-out are up (each
// true when it is not configured, or when offloading was turned off).
func (s *Server) Ready() (offload, fanout bool) {
	offload = s.offload == nil || s.offload.state.Load() != offloadStarting
	fanout = s.hub == nil || s.hub.Ready()
	return offload, fanout
}

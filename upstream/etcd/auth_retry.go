package etcd

import (
	"context"
	"sync"

	"google.golang.org/grpc"

	"github.com/heraldproj/herald/upstream"
)

// clientv3's retry interceptor, which herald's upstream connection
// carries, answers a unary call that etcd refuses for its token (invalid,
// or older than the auth store) by fetching a new token and trying again.
// herald's connection has no credentials of clientv3's own, so nothing is
// fetched and the same token is sent again, up to 100 times 25 ms apart:
// 2.5 s and 100 refusals for every call with an expired token, a client's
// or herald's. noAuthRetry stops that loop after the first refusal and
// returns it, as etcd gave it: the client (or authPath, for herald's own
// token) authenticates again, as it would against etcd directly.

// authRetryStop is where noAuthRetry's inner interceptor records etcd's
// refusal and ends the retry loop (by cancelling the call's context).
type authRetryStop struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
}

type authRetryKey struct{}

// noAuthRetry is the outer half: a path whose unary calls end at etcd's
// first refusal of their token.
type noAuthRetry struct{ grpc.ClientConnInterface }

func (p noAuthRetry) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := &authRetryStop{cancel: cancel}
	err := p.ClientConnInterface.Invoke(context.WithValue(ctx, authRetryKey{}, stop), method, args, reply, opts...)
	stop.mu.Lock()
	defer stop.mu.Unlock()
	if stop.err != nil {
		return stop.err
	}
	return err
}

// stopAuthRetry is the inner half, an interceptor below clientv3's retry
// (and above the error counter, which counts the refusal once): it
// records a refusal for the token and cancels the call, which ends the
// retry loop before its next attempt.
func stopAuthRetry(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	// clientv3 retries exactly these refusals (shouldRefreshToken).
	if err != nil && upstream.TokenRefused(err) {
		if stop, ok := ctx.Value(authRetryKey{}).(*authRetryStop); ok {
			stop.mu.Lock()
			stop.err = err
			stop.mu.Unlock()
			stop.cancel()
		}
	}
	return err
}

package offload

import (
	"context"

	"google.golang.org/grpc/status"
)

// setupLock is a mutex whose Lock gives up when the caller's context ends:
// it is held across etcd calls (a takeover may retry deletes for as long as
// etcd refuses them), and a client's grant waiting behind it must not
// outlive its deadline.
type setupLock chan struct{}

func newSetupLock() setupLock { return make(setupLock, 1) }

// lock takes the lock, or returns the context's error as a gRPC status
// (DeadlineExceeded or Canceled) if ctx ends first.
func (l setupLock) lock(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

func (l setupLock) unlock() { <-l }

package offload

import "context"

// setupLock is a mutex whose Lock gives up when the caller's context ends:
// it is held across etcd calls (a takeover may retry deletes for as long as
// etcd refuses them), and a client's grant waiting behind it must not
// outlive its deadline.
type setupLock chan struct{}

func newSetupLock() setupLock { return make(setupLock, 1) }

// lock takes the lock, or returns the context's error if ctx ends first
// (the front end answers it as DeadlineExceeded or Canceled).
func (l setupLock) lock(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l setupLock) unlock() { <-l }

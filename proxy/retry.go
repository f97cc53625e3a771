package proxy

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/internal/backoff"
)

// readRetries bounds how often a read is tried again after the upstream
// answered Unavailable (a member went away, or lost its leader). clientv3
// retries such reads itself; herald does the same so that a member failure
// behind herald costs its clients no more than a direct client would see.
const readRetries = 5

// retryRead calls read until it succeeds, fails with a code other than
// Unavailable, the retries run out or ctx ends. Only requests that change
// nothing may go through it.
func retryRead[Resp any](ctx context.Context, read func(context.Context) (Resp, error)) (Resp, error) {
	var b *backoff.Backoff // made on the first retry: reads are a hot path
	for attempt := 0; ; attempt++ {
		resp, err := read(ctx)
		if err == nil || status.Code(err) != codes.Unavailable || attempt == readRetries {
			return resp, err
		}
		if b == nil {
			// 25 ms, doubling every retry: the last step is 25 ms << (readRetries-1).
			b = backoff.New(25*time.Millisecond, 25*time.Millisecond<<(readRetries-1))
		}
		if !b.Wait(ctx) {
			return resp, err
		}
	}
}

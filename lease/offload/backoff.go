package offload

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is the one retry pacing of this package: exponential, with full
// jitter so that heralds that failed together do not retry together.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, cur: min} }

// wait sleeps for the next delay; false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool { return b.waitOr(ctx, nil) }

// waitOr is wait, cut short (and reset) when wake is closed: there is
// something new to try at once (the upstream path changed).
func (b *backoff) waitOr(ctx context.Context, wake <-chan struct{}) bool {
	d := b.cur/2 + rand.N(b.cur/2+1)
	b.cur = min(2*b.cur, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		b.reset()
		return true
	case <-t.C:
		return true
	}
}

// reset starts over from the shortest delay.
func (b *backoff) reset() { b.cur = b.min }

package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff paces the retries of one loop. It is not safe for concurrent use:
// the goroutine that retries owns it.
type Backoff struct {
	min, max, cur time.Duration
	// draw returns a number in [0, n); rand.Int64N unless a test fixes it.
	draw func(n int64) int64
}

// New returns a Backoff whose first pause is at most first and whose
// pauses grow no longer than ceiling (a ceiling below first counts as
// first).
func New(first, ceiling time.Duration) *Backoff {
	first = max(first, 0)
	return &Backoff{min: first, max: max(first, ceiling), cur: first, draw: rand.Int64N}
}

// Next returns the pause before the next retry, between half and all of
// the current step, and doubles the step (up to max).
func (b *Backoff) Next() time.Duration {
	d := b.cur/2 + time.Duration(b.draw(int64(b.cur/2)+1))
	b.cur = min(2*b.cur, b.max)
	return d
}

// Reset starts over from the shortest step: the thing retried worked.
func (b *Backoff) Reset() { b.cur = b.min }

// Wait sleeps for Next; false if ctx ended first.
func (b *Backoff) Wait(ctx context.Context) bool { return b.WaitOr(ctx, nil) }

// WaitOr is Wait, cut short (and Reset) when wake is closed or receives:
// there is something new to try at once (the upstream path changed). A nil
// wake never fires.
func (b *Backoff) WaitOr(ctx context.Context, wake <-chan struct{}) bool {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		b.Reset()
		return true
	case <-t.C:
		return true
	}
}

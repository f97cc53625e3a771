package clock

import (
	"context"
	"time"
)

// Clock is a source of time and timers. Its methods never block.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives the time once, after d, and
	// a function that stops the timer (reporting whether it had not fired
	// yet). After stop, the channel receives nothing.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// AfterFuncer is a Clock that can also call a function after a while
// (Real and Manual can): AfterFunc calls f on its own goroutine after d,
// unless stop (which reports whether it had not fired yet) comes first.
type AfterFuncer interface {
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// WithTimeout is context.WithTimeout on clock c: ctx is cancelled, with
// context.DeadlineExceeded as its cause, when c reaches d from now. On the
// wall clock it is context.WithTimeout itself (ctx.Err() is then
// DeadlineExceeded; on another clock it is Canceled). No goroutine waits
// for the deadline on a clock that is an AfterFuncer.
func WithTimeout(ctx context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if _, wall := Or(c).(Real); wall {
		return context.WithTimeout(ctx, d)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	expire := func() { cancel(context.DeadlineExceeded) }
	var stop func() bool
	if af, ok := c.(AfterFuncer); ok {
		stop = af.AfterFunc(d, expire)
	} else {
		// A clock with timers only: one goroutine waits for the deadline
		// or the end of ctx.
		fired, stopTimer := c.NewTimer(d)
		stop = stopTimer
		go func() {
			select {
			case <-fired:
				expire()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Or returns c, or Real when c is nil: a zero option means the wall clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

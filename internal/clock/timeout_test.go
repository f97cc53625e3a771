package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestManualAfterFunc: a function armed with AfterFunc runs once when
// Advance reaches its deadline, never before and never once stopped; one
// armed for zero runs at once.
func TestManualAfterFunc(t *testing.T) {
	m := NewManual(time.Unix(1000, 0))
	ran := make(chan string, 3)
	m.AfterFunc(time.Second, func() { ran <- "1s" })
	stop := m.AfterFunc(time.Second, func() { ran <- "stopped" })
	m.AfterFunc(0, func() { ran <- "now" })
	if got := <-ran; got != "now" {
		t.Fatalf("first to run: %s, want the zero one", got)
	}
	if !stop() {
		t.Fatal("stop of a pending function reported it ran")
	}
	m.Advance(999 * time.Millisecond)
	if m.Timers() != 1 {
		t.Fatalf("%d armed 999 ms in, want 1 (the 1 s one)", m.Timers())
	}
	m.Advance(time.Millisecond)
	if got := <-ran; got != "1s" {
		t.Fatalf("at 1 s: %s ran, want 1s", got)
	}
	m.Advance(time.Hour)
	select {
	case got := <-ran:
		t.Fatalf("%s ran again, or after its stop", got)
	default:
	}
	if m.Timers() != 0 {
		t.Fatalf("%d armed after everything ran or stopped, want 0", m.Timers())
	}
}

// TestWithTimeoutOnAManualClock: the context ends when the clock reaches
// the timeout, with DeadlineExceeded as its cause, and not before, kept by
// AfterFunc on a Manual clock and by a timer on a clock with timers only;
// cancel disarms it.
func TestWithTimeoutOnAManualClock(t *testing.T) {
	m := NewManual(time.Unix(1000, 0))
	for _, c := range []struct {
		name  string
		clock Clock
	}{{"Manual", m}, {"timers only", timersOnly{m}}} {
		ctx, cancel := WithTimeout(context.Background(), c.clock, 5*time.Second)
		m.Advance(4 * time.Second)
		if ctx.Err() != nil {
			t.Fatalf("%s: ended 4 s into a 5 s timeout: %v", c.name, ctx.Err())
		}
		m.Advance(time.Second)
		<-ctx.Done()
		if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			t.Fatalf("%s: cause %v, want %v", c.name, context.Cause(ctx), context.DeadlineExceeded)
		}
		cancel()
	}

	ctx, cancel := WithTimeout(context.Background(), m, time.Second)
	cancel()
	if m.Timers() != 0 || !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Fatalf("after cancel: %d timers armed, cause %v; want none, %v", m.Timers(), context.Cause(ctx), context.Canceled)
	}
}

// TestWithTimeoutOnTheWallClock is context.WithTimeout's deadline.
func TestWithTimeoutOnTheWallClock(t *testing.T) {
	before := time.Now()
	ctx, cancel := WithTimeout(context.Background(), nil, time.Hour)
	defer cancel()
	deadline, ok := ctx.Deadline()
	if !ok || deadline.Before(before.Add(time.Hour)) || deadline.After(time.Now().Add(time.Hour)) {
		t.Fatalf("deadline %v (%v), want an hour from now", deadline, ok)
	}
}

// timersOnly is a Clock without AfterFunc (as the tests' own clocks in
// other packages are).
type timersOnly struct{ m *Manual }

func (c timersOnly) Now() time.Time { return c.m.Now() }
func (c timersOnly) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	return c.m.NewTimer(d)
}

package harness

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// DefaultPatience is a wait's bound for tests that have no reason to pick
// another: long enough that a slow, shared CI machine under -race never
// reaches it, so that reaching it means a hang.
const DefaultPatience = 30 * time.Second

// waitPoll is how often Await and WaitUntil evaluate their condition.
const waitPoll = 20 * time.Millisecond

// Await polls cond every 20 ms until it returns nil, and returns cond's last
// error, with how long it waited, if that does not happen within patience.
// patience turns a hang into a failure that says what was awaited; it is not
// a performance threshold, so make it generous. Await and WaitUntil are the
// one wait helper of the tests: use them instead of a fixed sleep wherever a
// condition can be observed. Await may run on any goroutine.
func Await(patience time.Duration, cond func() error) error {
	deadline := time.Now().Add(patience)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %w", patience, err)
		}
		time.Sleep(waitPoll)
	}
}

// WaitUntil is Await for a condition without details: it fails t (Fatalf,
// from the test's goroutine) if cond does not hold within patience.
func WaitUntil(t testing.TB, what string, patience time.Duration, cond func() bool) {
	t.Helper()
	if err := Await(patience, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("%s: not within %v", what, patience)
	}
}

var errNotYet = errors.New("condition does not hold")

// Advancer is a clock that its test moves (internal/clock.Manual).
type Advancer interface {
	Advance(d time.Duration) time.Time
}

// AdvanceUntil lets virtual time pass until cond holds: between two polls
// (20 ms of real time, for the drivers to react) it moves c forward by step.
// It returns c's time when cond was seen to hold: whatever cond waited for
// happened at that virtual time or before. It fails t as WaitUntil does if
// cond does not hold within patience of real time.
func AdvanceUntil(t testing.TB, c Advancer, step time.Duration, what string, patience time.Duration, cond func() bool) time.Time {
	t.Helper()
	now := c.Advance(0)
	WaitUntil(t, what, patience, func() bool {
		if cond() {
			return true
		}
		now = c.Advance(step)
		return false
	})
	return now
}

// Context returns a context that ends after patience or when t ends,
// whichever comes first: the bound of a whole test's calls, so that a hang
// fails the test instead of the package's timeout.
func Context(t testing.TB, patience time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

package backoff

import (
	"context"
	"testing"
	"time"
)

// fixed returns a Backoff that always draws the same end of its range:
// low draws 0 (half the step), high draws n-1 (the whole step).
func fixed(first, ceiling time.Duration, high bool) *Backoff {
	b := New(first, ceiling)
	b.draw = func(n int64) int64 {
		if high {
			return n - 1
		}
		return 0
	}
	return b
}

func TestNextDoublesUpToTheCeilingWithinItsJitter(t *testing.T) {
	for _, tc := range []struct {
		name           string
		first, ceil    time.Duration
		wantLo, wantHi []time.Duration
	}{
		{"doubles then caps", 100 * time.Millisecond, 500 * time.Millisecond,
			[]time.Duration{50, 100, 200, 250, 250}, []time.Duration{100, 200, 400, 500, 500}},
		{"ceiling below first", 200 * time.Millisecond, 50 * time.Millisecond,
			[]time.Duration{100, 100}, []time.Duration{200, 200}},
		{"zero", 0, 0, []time.Duration{0, 0}, []time.Duration{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := fixed(tc.first, tc.ceil, false), fixed(tc.first, tc.ceil, true)
			for i := range tc.wantLo {
				if got, want := lo.Next(), tc.wantLo[i]*time.Millisecond; got != want {
					t.Errorf("pause %d drawn low: %v, want %v", i, got, want)
				}
				if got, want := hi.Next(), tc.wantHi[i]*time.Millisecond; got != want {
					t.Errorf("pause %d drawn high: %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestNextStaysWithinBoundsWithTheRealSource(t *testing.T) {
	b := New(10*time.Millisecond, 80*time.Millisecond)
	step := 10 * time.Millisecond
	for i := range 1000 {
		if i%7 == 0 {
			b.Reset()
			step = 10 * time.Millisecond
		}
		d := b.Next()
		if d < step/2 || d > step {
			t.Fatalf("pause %d = %v, outside [%v, %v]", i, d, step/2, step)
		}
		step = min(2*step, 80*time.Millisecond)
	}
}

func TestResetStartsOver(t *testing.T) {
	b := fixed(time.Second, time.Minute, true)
	b.Next()
	b.Next()
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Fatalf("after Reset: %v, want 1s", d)
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	b := New(time.Hour, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if b.Wait(ctx) {
		t.Fatal("Wait reported true on an ended context")
	}
}

func TestWaitOrWakesAndResets(t *testing.T) {
	b := fixed(time.Hour, 4*time.Hour, true)
	b.Next() // the step is 2h now
	wake := make(chan struct{})
	close(wake)
	if !b.WaitOr(context.Background(), wake) {
		t.Fatal("WaitOr reported false on a wake")
	}
	if d := b.Next(); d != time.Hour {
		t.Fatalf("after a wake: %v, want the first step (1h)", d)
	}
}

func TestWaitSleepsThePause(t *testing.T) {
	b := fixed(0, 0, true)
	if !b.Wait(context.Background()) {
		t.Fatal("Wait of a zero pause reported false")
	}
}

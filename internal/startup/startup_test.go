package startup

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if the retrying goroutine outlives Stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// part comes up at its upAt-th try (0: never); settled counts as up.
type part struct {
	upAt  int32
	tries atomic.Int32
}

func (p *part) TryStart(context.Context) bool {
	n := p.tries.Add(1)
	return p.upAt > 0 && n >= p.upAt
}

func TestEverythingUpAtOnceStartsNoGoroutine(t *testing.T) {
	a, b := &part{upAt: 1}, &part{upAt: 1}
	s := Start(context.Background(), a, b)
	if s.cancel != nil {
		t.Fatal("Start retries in the background although every part came up")
	}
	s.Stop()
	if a.tries.Load() != 1 || b.tries.Load() != 1 {
		t.Fatalf("tries %d, %d; want 1 each", a.tries.Load(), b.tries.Load())
	}
}

func TestRetriesOnlyWhatIsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up, late := &part{upAt: 1}, &part{upAt: 4}
		s := Start(context.Background(), up, late)
		defer s.Stop()
		time.Sleep(time.Minute) // virtual: every retry round has run
		synctest.Wait()
		if up.tries.Load() != 1 {
			t.Errorf("a part that came up at once was tried %d times", up.tries.Load())
		}
		if late.tries.Load() != 4 {
			t.Errorf("the late part was tried %d times, want 4 (retries end once it is up)", late.tries.Load())
		}
		select {
		case <-s.done:
		default:
			t.Error("the retrying goroutine still runs with nothing pending")
		}
	})
}

func TestStopEndsTheRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		never := &part{}
		s := Start(context.Background(), never)
		time.Sleep(30 * time.Second)
		s.Stop()
		s.Stop() // a second Stop is harmless
		n := never.tries.Load()
		if n < 3 {
			t.Fatalf("tried %d times in 30 s, want a retry every 5 s at most", n)
		}
		time.Sleep(time.Minute)
		if never.tries.Load() != n {
			t.Fatal("tried again after Stop")
		}
	})
}

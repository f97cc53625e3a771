package offload

import (
	"testing"
	"time"
)

// fakeWall is a settable clock for the intake.
type fakeWall struct{ t time.Time }

func (w *fakeWall) now() time.Time      { return w.t }
func (w *fakeWall) add(d time.Duration) { w.t = w.t.Add(d) }
func recvAfter(w *fakeWall, d time.Duration) func() (*int, error) {
	return func() (*int, error) { w.add(d); v := 1; return &v, nil }
}

func TestIntakeHoldsTheClockForABackloggedStream(t *testing.T) {
	w := &fakeWall{t: time.Unix(1000, 0)}
	in := newIntake(5*time.Second, w.now)
	idle, busy := in.track(), in.track()

	// Both streams waited for their first request; idle is waiting again
	// (blocked in Recv), busy is processing what it got.
	RecvTracked(idle, recvAfter(w, time.Second))()
	RecvTracked(busy, recvAfter(w, time.Millisecond))()
	blockInRecv(in, idle)
	caughtUp := w.t
	in.advance()
	if !in.now().Equal(caughtUp) {
		t.Fatalf("caught-up streams: clock %v, want the wall %v", in.now(), caughtUp)
	}
	// busy now finds requests queued for 3 s: each Recv returns at once.
	for i := 0; i < 3000; i++ {
		RecvTracked(busy, recvAfter(w, time.Microsecond))()
		w.add(time.Millisecond) // processing
	}
	in.advance()
	if !in.now().Equal(caughtUp) {
		t.Fatalf("backlogged stream: clock %v, want it held at %v (wall %v)", in.now(), caughtUp, w.t)
	}
	// A backlog longer than maxLag no longer holds the clock.
	w.add(10 * time.Second)
	in.advance()
	if want := w.t.Add(-5 * time.Second); !in.now().Equal(want) {
		t.Fatalf("clock %v, want wall - maxLag = %v", in.now(), want)
	}
	// Caught up again and waiting: the clock is the wall; streams that
	// leave count no more.
	RecvTracked(busy, recvAfter(w, time.Second))()
	blockInRecv(in, busy)
	in.advance()
	if !in.now().Equal(w.t) {
		t.Fatalf("clock %v after catching up, want %v", in.now(), w.t)
	}
	busy.Done()
	idle.Done()
	w.add(time.Second)
	in.advance()
	if !in.now().Equal(w.t) {
		t.Fatalf("no streams: clock %v, want %v", in.now(), w.t)
	}
}

// blockInRecv marks a stream as blocked in a Recv, as a goroutine waiting
// for its client's next request would be.
func blockInRecv(in *intake, s *IntakeStream) {
	in.mu.Lock()
	s.inRecv = true
	in.mu.Unlock()
}

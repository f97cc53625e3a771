package offload

import (
	"context"
	"sync"
	"time"

	"github.com/heraldproj/herald/internal/clock"
)

// intake keeps the virtual lease table's clock from running ahead of herald
// reading its clients' keepalives.
//
// A keepalive that a client sent in time but herald reads late (its CPU
// starved, a burst queued on a stream) must not find its lease expired: that
// would delete a live node's keys. So the table runs on a watermark clock:
// the earliest moment at which some keepalive stream still had requests
// waiting to be read. A Recv that had to wait shows that the stream was
// read up to the moment its request arrived (the end of the wait); a Recv
// that returned at once shows that requests were queued, so the stream is
// behind since its last wait ended. With every stream idle the watermark is the lease clock;
// when herald falls behind, expiry waits for it, by at most maxLag (beyond
// that a stream that never drains could hold every expiry back).
//
// clock reads the virtual leases' clock (Options.Clock). On a clock.Manual no
// Recv looks as if it waited, so a stream holds the watermark from the end
// of its last wait while it is not in a Recv: never ahead of the time the
// test has set.
type intake struct {
	maxLag time.Duration
	clock  func() time.Time

	mu      sync.Mutex
	streams map[*IntakeStream]struct{}
	mark    time.Time // the watermark; never goes back
}

// IntakeStream is one client keepalive stream, tracked so that expiry waits
// for herald to read what the client sent in time.
type IntakeStream struct {
	in       *intake
	inRecv   bool      // a Recv is under way
	caughtUp time.Time // when the last Recv that had to wait returned
}

// blockedRecv is how long a Recv must wait to show that nothing was queued.
const blockedRecv = 200 * time.Microsecond

func newIntake(maxLag time.Duration, clock func() time.Time) *intake {
	return &intake{maxLag: maxLag, clock: clock, streams: map[*IntakeStream]struct{}{}, mark: clock()}
}

// now is the table's clock.
func (in *intake) now() time.Time {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.mark
}

// advance recomputes the watermark from the streams.
func (in *intake) advance() {
	wall := in.clock()
	in.mu.Lock()
	defer in.mu.Unlock()
	mark := wall
	for s := range in.streams {
		if !s.inRecv && s.caughtUp.Before(mark) {
			mark = s.caughtUp
		}
	}
	if floor := wall.Add(-in.maxLag); mark.Before(floor) {
		mark = floor
	}
	if mark.After(in.mark) {
		in.mark = mark
	}
}

// run advances the watermark every interval of c until ctx ends.
func (in *intake) run(ctx context.Context, c clock.Clock, interval time.Duration) {
	for {
		fire, stop := c.NewTimer(interval)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-fire:
			in.advance()
		}
	}
}

// track registers a stream; the caller wraps each Recv with its recv.
func (in *intake) track() *IntakeStream {
	s := &IntakeStream{in: in, caughtUp: in.clock()}
	in.mu.Lock()
	in.streams[s] = struct{}{}
	in.mu.Unlock()
	return s
}

// Done unregisters the stream when the client's stream ends.
func (s *IntakeStream) Done() {
	s.in.mu.Lock()
	delete(s.in.streams, s)
	s.in.mu.Unlock()
}

// RecvTracked wraps the stream's Recv so that the intake sees how far
// herald has read it.
func RecvTracked[Req any](s *IntakeStream, recv func() (*Req, error)) func() (*Req, error) {
	return func() (*Req, error) {
		start := s.in.clock()
		s.in.mu.Lock()
		s.inRecv = true
		s.in.mu.Unlock()
		req, err := recv()
		end := s.in.clock()
		s.in.mu.Lock()
		s.inRecv = false
		if end.Sub(start) >= blockedRecv {
			s.caughtUp = end
		}
		s.in.mu.Unlock()
		return req, err
	}
}

package startup

import (
	"context"
	"time"

	"github.com/heraldproj/herald/internal/backoff"
)

// Part is one part of herald that comes up once etcd lets it.
type Part interface {
	// TryStart tries once to bring the part up, unless it is up already,
	// and reports whether it is settled: up, or off for good (it will not
	// be tried again). It logs why not itself, and blocks at most until
	// ctx ends. Calls come from one goroutine at a time.
	TryStart(ctx context.Context) (settled bool)
}

// Pacing of the background retries: the pause between two rounds grows
// from about first to ceiling, and one round may take up to attempt.
const (
	first   = 500 * time.Millisecond
	ceiling = 5 * time.Second
	attempt = 30 * time.Second
)

// Starter retries, in the background, the parts that Start could not bring
// up at once.
type Starter struct {
	cancel context.CancelFunc // nil when every part came up at once
	done   chan struct{}      // closed when the retrying goroutine ends
}

// Start tries every part once under ctx; it returns when they have been
// tried, whether they came up or not. The parts that did not are tried
// again in the background, each round bounded by 30 s, with a pause of 0.5
// to 5 s between rounds, until all are settled or Stop.
func Start(ctx context.Context, parts ...Part) *Starter {
	pending := tryAll(ctx, parts)
	if len(pending) == 0 {
		return &Starter{}
	}
	bg, cancel := context.WithCancel(context.Background())
	s := &Starter{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		retry(bg, pending)
	}()
	return s
}

// tryAll tries each part once and returns those that are not settled.
func tryAll(ctx context.Context, parts []Part) []Part {
	var pending []Part
	for _, p := range parts {
		if !p.TryStart(ctx) {
			pending = append(pending, p)
		}
	}
	return pending
}

// retry tries the pending parts, a round after each backoff pause, until
// none is left or ctx ends.
func retry(ctx context.Context, pending []Part) {
	b := backoff.New(first, ceiling)
	for len(pending) > 0 && b.Wait(ctx) {
		round, cancel := context.WithTimeout(ctx, attempt)
		pending = tryAll(round, pending)
		cancel()
	}
}

// Stop ends the background retries and waits for them. It may be called
// more than once.
func (s *Starter) Stop() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
}

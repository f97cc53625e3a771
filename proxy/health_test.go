package proxy

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/health"
)

// slowProbe answers only when its context ends, and counts the probes in
// flight.
type slowProbe struct {
	inFlight atomic.Int32
	entered  chan struct{}
}

func (k *slowProbe) probe(ctx context.Context) error {
	k.inFlight.Add(1)
	defer k.inFlight.Add(-1)
	k.entered <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestHealthStopLeavesNoProbeInFlight: stop returns only once the probe in
// flight has ended (cancelled after the grace), so the caller may close
// the upstream connection next without cutting a call short.
func TestHealthStopLeavesNoProbeInFlight(t *testing.T) {
	kv := &slowProbe{entered: make(chan struct{}, 1)}
	h := newHealthMonitor(kv.probe, health.NewServer(), slog.New(slog.DiscardHandler))
	go h.run()
	<-kv.entered
	h.stop()
	if n := kv.inFlight.Load(); n != 0 {
		t.Fatalf("%d probes in flight after stop", n)
	}
}

// TestHealthStopWithoutRun: stopping a monitor that never ran returns at
// once, and a run after it probes nothing.
func TestHealthStopWithoutRun(t *testing.T) {
	kv := &slowProbe{entered: make(chan struct{}, 1)}
	h := newHealthMonitor(kv.probe, health.NewServer(), slog.New(slog.DiscardHandler))
	h.stop()
	h.run()
	select {
	case <-kv.entered:
		t.Fatal("a run after stop probed")
	default:
	}
}

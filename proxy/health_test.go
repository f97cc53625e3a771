package proxy

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

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
	h := newHealthMonitor(kv.probe, nil, health.NewServer(), slog.New(slog.DiscardHandler))
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
	h := newHealthMonitor(kv.probe, nil, health.NewServer(), slog.New(slog.DiscardHandler))
	h.stop()
	h.run()
	select {
	case <-kv.entered:
		t.Fatal("a run after stop probed")
	default:
	}
}

// countingProbe counts the probes and fails them with err.
type countingProbe struct {
	n   atomic.Int32
	err error
}

func (p *countingProbe) probe(context.Context) error {
	p.n.Add(1)
	return p.err
}

// TestHealthProbeSparedByAnswers: while etcd answers herald's own calls
// the monitor reports healthy without probing; once the answers stop it
// probes again, and a failed probe makes it unhealthy.
func TestHealthProbeSparedByAnswers(t *testing.T) {
	p := &countingProbe{err: errors.New("no leader")}
	var answering atomic.Bool
	answering.Store(true)
	var window time.Duration
	answered := func(d time.Duration) bool { window = d; return answering.Load() }
	h := newHealthMonitor(p.probe, answered, health.NewServer(), slog.New(slog.DiscardHandler))

	h.probe()
	if ok, reason := h.status(); !ok || p.n.Load() != 0 {
		t.Fatalf("etcd answering: healthy %v (%q) after %d probes; want healthy and no probe", ok, reason, p.n.Load())
	}
	if window != healthProofWindow {
		t.Fatalf("asked for answers within %v, want %v", window, healthProofWindow)
	}
	answering.Store(false)
	h.probe()
	if ok, reason := h.status(); ok || p.n.Load() != 1 || reason != "upstream: no leader" {
		t.Fatalf("etcd silent: healthy %v (%q) after %d probes; want one failed probe", ok, reason, p.n.Load())
	}
	answering.Store(true)
	h.probe()
	if ok, _ := h.status(); !ok || p.n.Load() != 1 {
		t.Fatalf("etcd answering again: healthy %v after %d probes; want healthy, no new probe", ok, p.n.Load())
	}
}

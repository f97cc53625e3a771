package proxy

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// healthProbeInterval is how often the upstream is probed.
const healthProbeInterval = 3 * time.Second

// healthProofWindow is how recent an answer to herald's own calls must be
// to stand in for a probe: longer than the session's keepalive period at
// the default session TTL (2 s, a keepalive every 667 ms), short enough
// that an upstream that stopped answering is probed within a second more
// than before.
const healthProofWindow = time.Second

// healthMonitor probes the upstream member as etcd's /health judges it and
// publishes the result on the gRPC health service.
//
// A probe is skipped when answered says etcd answered herald's own calls
// within healthProofWindow on the current path (the offloader's session
// and carrier keepalives, which only a member with a leader answers): that
// answer already proves what the probe would ask, and an idle etcd pays
// for each message a fleet sends it (docs/benchmarks.md, "Where the rack
// stop's time and etcd's steady CPU go").
type healthMonitor struct {
	probeUpstream func(context.Context) error
	answered      func(time.Duration) bool // nil: always probe
	srv           *health.Server
	log           *slog.Logger
	done          chan struct{}
	once          sync.Once

	// ctx bounds the probes; cancelled by stop when a probe outlasts
	// stopGrace. running is closed when run returns (at once if it never
	// started), so that stop leaves no probe in flight on a connection the
	// caller closes next (etcd logs a warning for each such call).
	ctx     context.Context
	cancel  context.CancelFunc
	started atomic.Bool
	running chan struct{}

	mu     sync.Mutex
	ok     bool
	reason string
}

func newHealthMonitor(probe func(context.Context) error, answered func(time.Duration) bool, srv *health.Server, log *slog.Logger) *healthMonitor {
	ctx, cancel := context.WithCancel(context.Background())
	return &healthMonitor{probeUpstream: probe, answered: answered, srv: srv, log: log, done: make(chan struct{}), reason: "not probed yet",
		ctx: ctx, cancel: cancel, running: make(chan struct{})}
}

// stopGrace is how long stop lets a probe in flight finish before it
// cancels it.
const stopGrace = 500 * time.Millisecond

func (h *healthMonitor) run() {
	if !h.started.CompareAndSwap(false, true) {
		return
	}
	defer close(h.running)
	t := time.NewTicker(healthProbeInterval)
	defer t.Stop()
	for {
		h.probe()
		select {
		case <-h.done:
			return
		case <-t.C:
		}
	}
}

func (h *healthMonitor) probe() {
	if h.answered != nil && h.answered(healthProofWindow) {
		h.publish(nil)
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
	defer cancel()
	err := h.probeUpstream(ctx)
	if h.ctx.Err() != nil {
		return // stopping: the probe was cut short, not failed
	}
	h.publish(err)
}

// publish records the upstream's health, err nil when it is healthy, and
// serves it.
func (h *healthMonitor) publish(err error) {
	ok := err == nil
	reason := ""
	if !ok {
		reason = "upstream: " + err.Error()
	}
	h.mu.Lock()
	changed := ok != h.ok
	h.ok, h.reason = ok, reason
	h.mu.Unlock()

	st := healthpb.HealthCheckResponse_SERVING
	if !ok {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	h.srv.SetServingStatus("", st)
	if changed {
		h.log.Info("upstream health changed", "healthy", ok, "reason", reason)
	}
}

func (h *healthMonitor) status() (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ok, h.reason
}

// stop ends the probes and waits for the one in flight, cancelling it
// after stopGrace.
func (h *healthMonitor) stop() {
	h.once.Do(func() {
		close(h.done)
		h.srv.Shutdown()
		if !h.started.CompareAndSwap(false, true) {
			t := time.NewTimer(stopGrace)
			select {
			case <-h.running:
			case <-t.C:
				h.cancel()
				<-h.running
			}
			t.Stop()
		}
		h.cancel()
	})
}

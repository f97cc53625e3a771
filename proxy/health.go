package proxy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/heraldproj/herald/upstream"
)

// healthProbeInterval is how often the upstream is probed.
const healthProbeInterval = 3 * time.Second

// healthMonitor probes the upstream the way etcd's /health does (a
// linearizable read of the key "health"; permission denied still proves a
// quorum answered) and publishes the result on the gRPC health service.
type healthMonitor struct {
	kv   upstream.KV
	srv  *health.Server
	log  *slog.Logger
	done chan struct{}
	once sync.Once

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

func newHealthMonitor(kv upstream.KV, srv *health.Server, log *slog.Logger) *healthMonitor {
	ctx, cancel := context.WithCancel(context.Background())
	return &healthMonitor{kv: kv, srv: srv, log: log, done: make(chan struct{}), reason: "not probed yet",
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
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
	defer cancel()
	_, err := h.kv.Range(ctx, &pb.RangeRequest{Key: []byte("health")})
	if h.ctx.Err() != nil {
		return // stopping: the probe was cut short, not failed
	}
	ok := err == nil || errors.Is(rpctypes.Error(err), rpctypes.ErrPermissionDenied)
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

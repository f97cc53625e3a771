package proxy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// healthProbeInterval is how often the upstream is probed.
const healthProbeInterval = 3 * time.Second

// healthMonitor probes the upstream the way etcd's /health does (a
// linearizable read of the key "health"; permission denied still proves a
// quorum answered) and publishes the result on the gRPC health service.
type healthMonitor struct {
	kv   pb.KVClient
	srv  *health.Server
	log  *slog.Logger
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	ok     bool
	reason string
}

func newHealthMonitor(kv pb.KVClient, srv *health.Server, log *slog.Logger) *healthMonitor {
	return &healthMonitor{kv: kv, srv: srv, log: log, done: make(chan struct{}), reason: "not probed yet"}
}

func (h *healthMonitor) run() {
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := h.kv.Range(ctx, &pb.RangeRequest{Key: []byte("health")})
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

func (h *healthMonitor) stop() {
	h.once.Do(func() {
		close(h.done)
		h.srv.Shutdown()
	})
}

package proxy

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/lease/offload"
)

// serverMetrics are a Server's own metrics: its client RPCs (counted by
// the interceptors below) and its readiness. New builds them, and
// registers them with Options.Registerer when one is given; the figures of
// the hub and the offloader are theirs (status_metrics.go, lease/offload).
type serverMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	streams  *prometheus.GaugeVec
}

func newServerMetrics() *serverMetrics {
	return &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_proxy_requests_total",
			Help: "Client RPCs handled, by full method and gRPC code.",
		}, []string{"method", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_proxy_request_duration_seconds",
			Help:    "Latency of unary client RPCs, by full method.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"method"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_proxy_streams_active",
			Help: "Client streams open now, by full method.",
		}, []string{"method"}),
	}
}

// register registers the request metrics, the readiness gauges and the
// fan-out figures of s with reg.
func (m *serverMetrics) register(reg prometheus.Registerer, s *Server) error {
	cs := []prometheus.Collector{
		m.requests, m.seconds, m.streams,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_lease_offload_ready",
			Help: "1 once lease offloading is up (clients get virtual leases); 0 while herald retries it, or when it is off.",
		}, func() float64 { return boolean(s.offloadReadiness() == offload.Ready) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_lease_calls_waiting",
			Help: "Lease calls and keepalives of virtual leases held now: their lease's owner is being replaced or does not answer. Each waits up to the hold timeout, then gets etcd's error (a keepalive: no answer).",
		}, s.leaseCallsWaiting),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_fanout_ready",
			Help: "1 once the fan-out cache is loaded and serves watches of the fan-out prefixes; 0 while herald retries loading it (watches pass through).",
		}, func() float64 { return boolean(s.hub != nil && s.hub.Ready()) }),
		newFanoutCollector(s.fanoutStats), // the hub alone: Status would also count the offloader's leases
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("proxy: metrics: %w", err)
		}
	}
	return nil
}

func boolean(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *serverMetrics) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	m.seconds.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
	m.requests.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	return resp, err
}

func (m *serverMetrics) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	g := m.streams.WithLabelValues(info.FullMethod)
	g.Inc()
	defer g.Dec()
	err := handler(srv, ss)
	m.requests.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	return err
}

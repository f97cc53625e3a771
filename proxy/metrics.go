package proxy

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_proxy_requests_total",
		Help: "Client RPCs handled, by full method and gRPC code.",
	}, []string{"method", "code"})
	requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "herald_proxy_request_duration_seconds",
		Help:    "Latency of unary client RPCs, by full method.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
	}, []string{"method"})
	streamsActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "herald_proxy_streams_active",
		Help: "Client streams open now, by full method.",
	}, []string{"method"})
)

func init() {
	prometheus.MustRegister(requestsTotal, requestSeconds, streamsActive)
}

func unaryMetrics(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	requestSeconds.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
	requestsTotal.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	return resp, err
}

func streamMetrics(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	g := streamsActive.WithLabelValues(info.FullMethod)
	g.Inc()
	defer g.Dec()
	err := handler(srv, ss)
	requestsTotal.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
	return err
}

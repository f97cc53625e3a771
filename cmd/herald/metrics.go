package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry is the registry of one run of herald: Run hands it to every
// part it starts (the upstream connection, the fleet, the relay, the
// server), and /metrics serves it and nothing else, with the Go runtime's
// and the process's families.
//
// Not Prometheus's default registry: the etcd packages that herald links
// (the embedded etcd, its gRPC interceptors) register their metrics there
// when they load. Exported, they would describe no etcd at all with
// --endpoints (72 all-zero families, `etcd_server_has_leader 0` among
// them, which trips etcd's standard alerts), and with the embedded etcd its
// gRPC counters would pass for herald's. Scrape etcd's members for etcd's
// metrics. A registry per run also lets tests run several heralds in one
// process, each with its own figures.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsHandler serves reg's families (/metrics, /proxy/metrics).
func metricsHandler(reg prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

package main

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// ownFamilies are the metric name prefixes herald exports: its own, and the
// Go runtime's and the process's.
var ownFamilies = []string{"herald_", "go_", "process_", "promhttp_"}

// heraldGatherer gathers from g only herald's own families. Packages of
// etcd that herald links (the embedded etcd, its gRPC interceptors) register
// their metrics with Prometheus's default registry when they load. Exported
// as they are, they describe no etcd at all with --endpoints (72 all-zero
// families, `etcd_server_has_leader 0` among them, which trips etcd's
// standard alerts), and with the embedded etcd its gRPC counters would
// pass for herald's. Scrape etcd's members for etcd's metrics.
type heraldGatherer struct{ g prometheus.Gatherer }

func (h heraldGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := h.g.Gather()
	own := mfs[:0]
	for _, mf := range mfs {
		if isOwnFamily(mf.GetName()) {
			own = append(own, mf)
		}
	}
	return own, err
}

func isOwnFamily(name string) bool {
	for _, p := range ownFamilies {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// metricsHandler serves herald's families from the default registry.
func metricsHandler() http.Handler {
	return promhttp.HandlerFor(heraldGatherer{prometheus.DefaultGatherer}, promhttp.HandlerOpts{})
}

package feed

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a feed's counters, named herald_<area>_<what>: the fan-out's
// feed uses the area "fanout" (herald_fanout_batches_total, …), another feed
// an area of its own, so that both coexist on one registry.
type Metrics struct {
	// Batches counts batches applied to the sink, from the fleet or etcd:
	// herald_<area>_batches_total.
	Batches prometheus.Counter
	// BadBatches counts fleet payloads that did not decode:
	// herald_<area>_bad_batches_total.
	BadBatches prometheus.Counter
	// Repairs counts gaps fetched from etcd: herald_<area>_repairs_total.
	Repairs prometheus.Counter
	// Feeding is 1 while this herald watches etcd for the fleet:
	// herald_<area>_feeding.
	Feeding prometheus.Gauge
	// UpstreamResponses counts watch responses received from etcd (the
	// fan-out adds its catch-up watches'):
	// herald_<area>_upstream_watch_responses_total.
	UpstreamResponses prometheus.Counter
	// ProgressRequests counts the progress requests sent to etcd:
	// herald_<area>_progress_requests_total.
	ProgressRequests prometheus.Counter
	// WitnessedHeartbeats counts heartbeats cut from a revision etcd
	// reported on another answer, in place of a progress request
	// (Config.Witness): herald_<area>_witnessed_heartbeats_total.
	WitnessedHeartbeats prometheus.Counter
}

// NewMetrics builds the metrics of one area and registers them on reg
// (nil: nowhere). Metrics of that area already registered on reg are taken
// as they are, so that several feeds given one registry count into the
// same series (herald gives each of its runs a registry of its own).
func NewMetrics(reg prometheus.Registerer, area string) (*Metrics, error) {
	name := func(what string) string { return "herald_" + area + "_" + what }
	m := &Metrics{
		Batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("batches_total"),
			Help: fmt.Sprintf("Batches applied to the %s replica (from the fleet or from etcd).", area),
		}),
		BadBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("bad_batches_total"),
			Help: fmt.Sprintf("%s batches from the fleet that did not decode.", area),
		}),
		Repairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("repairs_total"),
			Help: fmt.Sprintf("Gaps in the %s batch chain repaired from etcd.", area),
		}),
		Feeding: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: name("feeding"),
			Help: fmt.Sprintf("1 while this herald holds the upstream %s watch for the fleet.", area),
		}),
		UpstreamResponses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("upstream_watch_responses_total"),
			Help: fmt.Sprintf("Watch responses received from etcd for the %s replica.", area),
		}),
		ProgressRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("progress_requests_total"),
			Help: fmt.Sprintf("Watch progress requests sent to etcd for the %s replica.", area),
		}),
		WitnessedHeartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("witnessed_heartbeats_total"),
			Help: fmt.Sprintf("%s heartbeats cut from a revision etcd reported on herald's own keepalives, without a progress request.", area),
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.Batches, err = register(reg, m.Batches, err)
	m.BadBatches, err = register(reg, m.BadBatches, err)
	m.Repairs, err = register(reg, m.Repairs, err)
	m.Feeding, err = register(reg, m.Feeding, err)
	m.UpstreamResponses, err = register(reg, m.UpstreamResponses, err)
	m.ProgressRequests, err = register(reg, m.ProgressRequests, err)
	m.WitnessedHeartbeats, err = register(reg, m.WitnessedHeartbeats, err)
	if err != nil {
		return nil, fmt.Errorf("feed: metrics of %s: %w", area, err)
	}
	return m, nil
}

// register registers c on reg, or returns the collector already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, err error) (C, error) {
	if err != nil {
		return c, err
	}
	if err = reg.Register(c); err == nil {
		return c, nil
	}
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

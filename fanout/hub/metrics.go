package hub

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/fanout/feed"
)

// Metrics are a hub's: the fan-out feed's (herald_fanout_batches_total,
// _bad_batches_total, _repairs_total, _feeding,
// _upstream_watch_responses_total, the last with the hub's catch-up
// watches), herald_fanout_local_reads_total and
// herald_fanout_range_loads_total. Each herald has its own
// set; the cache's figures (hub.Stats) are exported by its server, at
// scrape time.
type Metrics struct {
	Feed       *feed.Metrics
	LocalReads prometheus.Counter
	RangeLoads prometheus.Counter
}

// NewMetrics creates the hub's metrics and registers them with reg (nil:
// not registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	fm, err := feed.NewMetrics(reg, "fanout")
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	m := &Metrics{
		Feed: fm,
		LocalReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_fanout_local_reads_total",
			Help: "Serializable ranges answered from the fan-out cache.",
		}),
		RangeLoads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_fanout_range_loads_total",
			Help: "Ranges read from etcd into the fan-out cache, which keeps the key-values of the ranges its clients read.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.LocalReads, m.RangeLoads} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("hub: %w", err)
			}
		}
	}
	return m, nil
}

package proxy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/fanout/feed"
)

var fanoutLocalReadsTotal = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "herald_fanout_local_reads_total",
	Help: "Serializable ranges answered from the fan-out cache.",
})

// fanoutFeedMetrics are the fan-out feed's (herald_fanout_batches_total,
// _bad_batches_total, _repairs_total, _feeding,
// _upstream_watch_responses_total, the last with the hub's catch-up
// watches), shared by every hub of the process.
var fanoutFeedMetrics = func() *feed.Metrics {
	m, err := feed.NewMetrics(prometheus.DefaultRegisterer, "fanout")
	if err != nil {
		panic(err)
	}
	return m
}()

func init() {
	prometheus.MustRegister(fanoutLocalReadsTotal)
}

package proxy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/fanout/hub"
)

// fanoutFigure is one figure of hub.Stats exported as a metric.
type fanoutFigure struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(hub.Stats) float64
}

func fanoutGauge(name, help string, value func(hub.Stats) float64) fanoutFigure {
	return fanoutFigure{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, value}
}

func fanoutCounter(name, help string, value func(hub.Stats) float64) fanoutFigure {
	return fanoutFigure{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, value}
}

// fanoutFigures are the fan-out cache's figures, read from Server.Status at
// scrape time. herald_fanout_feeding is not among them: the feed sets it
// (fanout/feed), and it is the one source of that figure.
var fanoutFigures = []fanoutFigure{
	fanoutGauge("herald_fanout_revision", "The etcd revision through which the fan-out cache is complete.",
		func(s hub.Stats) float64 { return float64(s.Rev) }),
	fanoutGauge("herald_fanout_window_start_revision", "The oldest revision the fan-out cache's event window holds every event from: watches starting earlier go to etcd.",
		func(s hub.Stats) float64 { return float64(s.WindowStart) }),
	fanoutGauge("herald_fanout_compact_revision", "etcd's compact revision, as the fan-out cache last learnt it.",
		func(s hub.Stats) float64 { return float64(s.CompactRev) }),
	fanoutGauge("herald_fanout_window_events", "Events in the fan-out cache's window.",
		func(s hub.Stats) float64 { return float64(s.WindowEvents) }),
	fanoutGauge("herald_fanout_window_bytes", "Bytes of the events in the fan-out cache's window.",
		func(s hub.Stats) float64 { return float64(s.WindowBytes) }),
	fanoutGauge("herald_fanout_held_batches", "Batches the fan-out cache holds back until a gap before them is repaired.",
		func(s hub.Stats) float64 { return float64(s.HeldBatches) }),
	fanoutGauge("herald_fanout_streams", "Client watch streams served from the fan-out cache.",
		func(s hub.Stats) float64 { return float64(s.Streams) }),
	fanoutGauge("herald_fanout_watchers", "Client watchers served from the fan-out cache.",
		func(s hub.Stats) float64 { return float64(s.Watchers) }),
	fanoutGauge("herald_fanout_lag_revisions", "How many revisions the fan-out cache is behind the newest one this herald has shown a client (0 when it is not).",
		func(s hub.Stats) float64 { return float64(s.LagRevisions) }),
	fanoutGauge("herald_fanout_seconds_since_advance", "Seconds since the fan-out cache's revision last moved (0 before it first moved).",
		func(s hub.Stats) float64 { return s.SinceAdvance.Seconds() }),
	fanoutCounter("herald_fanout_slow_cancels_total", "Watchers cancelled because the window moved past events they had not taken (etcd cancels such slow watchers too).",
		func(s hub.Stats) float64 { return float64(s.SlowCancels) }),
	fanoutCounter("herald_fanout_gaps_total", "Batches that reached the fan-out cache beyond a gap in the batch chain.",
		func(s hub.Stats) float64 { return float64(s.Gaps) }),
}

// fanoutCollector exports fanoutFigures from one snapshot of the hub per
// scrape, and nothing when the herald has no fan-out prefixes (stats
// returns nil).
type fanoutCollector struct{ stats func() *hub.Stats }

func newFanoutCollector(stats func() *hub.Stats) *fanoutCollector { return &fanoutCollector{stats} }

// Describe implements prometheus.Collector.
func (c *fanoutCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range fanoutFigures {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector.
func (c *fanoutCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	if st == nil {
		return
	}
	for _, f := range fanoutFigures {
		ch <- prometheus.MustNewConstMetric(f.desc, f.kind, f.value(*st))
	}
}

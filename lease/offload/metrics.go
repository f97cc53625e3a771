package offload

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/lease"
)

// metrics are the offloader's Prometheus metrics, herald_lease_*. Its
// gauges read the figures Stats reads (held, carrierCount, fleetLeases,
// IndexRev), at scrape time.
type metrics struct {
	expired            prometheus.Counter
	deleteTxns         prometheus.Counter
	keepalivesAbsorbed prometheus.Counter
	takeovers          prometheus.Counter
	lapseSeconds       prometheus.Counter
}

func newMetrics(o *Offloader, reg prometheus.Registerer) *metrics {
	m := &metrics{
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_lease_expired_total",
			Help: "Virtual leases that expired in this herald (revokes not counted).",
		}),
		deleteTxns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_lease_delete_txns_total",
			Help: "Upstream transactions sent to delete ended leases' keys.",
		}),
		keepalivesAbsorbed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_lease_keepalives_absorbed_total",
			Help: "Client keepalives answered by this herald as the lease's owner, without going upstream.",
		}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_lease_takeovers_total",
			Help: "Carriers this herald took over from a herald whose session ended.",
		}),
		lapseSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_lease_session_lapse_seconds_total",
			Help: "Seconds during which this herald held its clients' keepalives because etcd had not yet confirmed its (live) session; its leases' TTLs were extended by them.",
		}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.expired, m.deleteTxns, m.keepalivesAbsorbed, m.takeovers, m.lapseSeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_lease_index_revision",
			Help: "The etcd revision through which this herald's copy of the fleet's lease index is complete.",
		}, func() float64 { return float64(o.IndexRev()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_lease_virtual_leases",
			Help: "Live virtual leases this herald holds as their owner (what LeaseLeases lists).",
		}, func() float64 { return float64(o.held()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_lease_carriers",
			Help: "Carrier leases this herald owns (its own and those it took over).",
		}, func() float64 { return float64(o.carrierCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_lease_fleet_leases",
			Help: "Virtual leases of the whole fleet, as this herald's lease index lists them.",
		}, func() float64 { return float64(o.fleetLeases()) }),
	)
	return m
}

// held counts the virtual leases this herald owns that are alive on the
// table's clock: what LeaseLeases lists, not the expired ones whose keys
// are still being deleted.
func (o *Offloader) held() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.table == nil {
		return 0
	}
	return o.table.Live(o.now())
}

// fleetLeases counts the virtual leases of the fleet's lease index.
func (o *Offloader) fleetLeases() (n int) {
	o.idx.read(func(ix *lease.Index) { n = ix.NumLeases() })
	return n
}

func (o *Offloader) carrierCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.own.Carriers())
}

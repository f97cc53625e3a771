package gossip

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/gossip/transport"
)

// Collector exports a Node's Stats as herald_gossip_<field>_total (the
// names Stats documents) and the number of peers in its view as
// herald_gossip_peers. It reads the Node's atomic counters at scrape time.
type Collector struct {
	node *Node
}

// NewCollector returns a collector of n's counters.
func NewCollector(n *Node) *Collector { return &Collector{node: n} }

var (
	peersDesc = prometheus.NewDesc("herald_gossip_peers", "Other members in the broadcast protocol's view.", nil, nil)
	nodeDescs = []struct {
		desc  *prometheus.Desc
		value func(Stats) uint64
	}{
		{prometheus.NewDesc("herald_gossip_payload_sent_total", "Gossip (payload) messages handed to the transport.", nil, nil), func(s Stats) uint64 { return s.PayloadSent }},
		{prometheus.NewDesc("herald_gossip_control_sent_total", "IHave, Graft, Prune and Digest messages handed to the transport.", nil, nil), func(s Stats) uint64 { return s.ControlSent }},
		{prometheus.NewDesc("herald_gossip_send_failed_total", "Messages the transport refused (queue full), left to repair.", nil, nil), func(s Stats) uint64 { return s.SendFailed }},
		{prometheus.NewDesc("herald_gossip_no_address_total", "Messages addressed to a member without a known gossip address.", nil, nil), func(s Stats) uint64 { return s.NoAddress }},
		{prometheus.NewDesc("herald_gossip_delivered_total", "Broadcasts delivered to this herald.", nil, nil), func(s Stats) uint64 { return s.Delivered }},
		{prometheus.NewDesc("herald_gossip_malformed_total", "Received frames that did not decode or lied about their sender.", nil, nil), func(s Stats) uint64 { return s.Malformed }},
		{prometheus.NewDesc("herald_gossip_received_total", "Frames received.", nil, nil), func(s Stats) uint64 { return s.ReceivedTotal }},
		{prometheus.NewDesc("herald_gossip_piggyback_carried_total", "IHave and Digest messages that left on memberlist's packets.", nil, nil), func(s Stats) uint64 { return s.PiggybackCarried }},
		{prometheus.NewDesc("herald_gossip_piggyback_direct_total", "IHave and Digest messages that found no memberlist packet within the wait and went in messages of their own.", nil, nil), func(s Stats) uint64 { return s.PiggybackDirect }},
		{prometheus.NewDesc("herald_gossip_piggyback_received_total", "IHave and Digest messages that arrived on memberlist's packets.", nil, nil), func(s Stats) uint64 { return s.PiggybackReceived }},
		{prometheus.NewDesc("herald_gossip_piggyback_dropped_total", "IHave and Digest messages that arrived on memberlist's packets while the node was behind, dropped.", nil, nil), func(s Stats) uint64 { return s.PiggybackDropped }},
	}
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- peersDesc
	for _, d := range nodeDescs {
		ch <- d.desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.node.Stats()
	ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(c.node.NumPeers()))
	for _, d := range nodeDescs {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(d.value(s)))
	}
}

// Collectors returns the collectors of the fleet's broadcast Node and of its
// TCP transport, for the daemon to register.
func (f *Fleet) Collectors() []prometheus.Collector {
	return []prometheus.Collector{NewCollector(f.Node), transport.NewCollector(f.TransportStats)}
}

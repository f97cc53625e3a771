package transport

import "github.com/prometheus/client_golang/prometheus"

// Collector exports a transport's Stats as the Prometheus counters the
// package doc promises (herald_gossip_frames_*_total,
// herald_gossip_dials_total, herald_gossip_dials_failed_total,
// herald_gossip_dials_ahead_total). It reads the counters at scrape time,
// so it adds nothing to the send path.
type Collector struct {
	stats func() Stats
}

// NewCollector returns a collector of stats, typically a transport's Stats
// method.
func NewCollector(stats func() Stats) *Collector { return &Collector{stats: stats} }

var transportDescs = []struct {
	desc  *prometheus.Desc
	value func(Stats) uint64
}{
	{prometheus.NewDesc("herald_gossip_frames_sent_total", "Frames written to a connection.", nil, nil), func(s Stats) uint64 { return s.FramesSent }},
	{prometheus.NewDesc("herald_gossip_frames_received_total", "Frames authenticated and delivered.", nil, nil), func(s Stats) uint64 { return s.FramesReceived }},
	{prometheus.NewDesc("herald_gossip_frames_rejected_total", "Frames that failed a check (forged, corrupted, truncated, replayed); each closed its connection.", nil, nil), func(s Stats) uint64 { return s.FramesRejected }},
	{prometheus.NewDesc("herald_gossip_frames_queue_full_total", "Sends refused because the peer's queue was full.", nil, nil), func(s Stats) uint64 { return s.QueueFull }},
	{prometheus.NewDesc("herald_gossip_frames_lost_total", "Frames accepted for sending but dropped (dial or write failure, close).", nil, nil), func(s Stats) uint64 { return s.FramesLost }},
	{prometheus.NewDesc("herald_gossip_dials_total", "Connections opened to a peer, ahead of use or for a frame.", nil, nil), func(s Stats) uint64 { return s.Dials }},
	{prometheus.NewDesc("herald_gossip_dials_failed_total", "Failed dials to a peer.", nil, nil), func(s Stats) uint64 { return s.DialsFailed }},
	{prometheus.NewDesc("herald_gossip_dials_ahead_total", "Connections opened to a kept peer (a link of the broadcast trees) before a frame needed them.", nil, nil), func(s Stats) uint64 { return s.DialsAhead }},
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range transportDescs {
		ch <- d.desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for _, d := range transportDescs {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(d.value(s)))
	}
}

package proxy

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/fanout/feed"
	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/internal/fleet"
)

// FanoutOptions configure the fleet watch fan-out (fanout/hub). No prefixes
// turns it off.
type FanoutOptions = hub.Options

// Topics is the fleet's bus as herald's feeds use it: one topic per feed
// (the fan-out's is hub.Topic, the lease index's "leases"). A *gossip.Bus
// is one.
type Topics = fleet.Bus

// fanoutMetrics are the fan-out hub's, shared by every hub of the process.
var fanoutMetrics = func() *hub.Metrics {
	m, err := hub.NewMetrics(prometheus.DefaultRegisterer)
	if err != nil {
		panic(err)
	}
	return m
}()

// newHub builds the fan-out hub of a server.
func newHub(opts Options) (*hub.Hub, error) {
	var bus feed.Bus
	if opts.Fleet != nil {
		bus = opts.Fleet.Topic(hub.Topic)
	}
	up := opts.Upstream
	fo := opts.Fanout
	fo.MaxResponseBytes = MaxRequestBytesWithOverhead(opts.MaxRequestBytes)
	h, err := hub.New(hub.Config{
		Options: fo,
		Name:    opts.Name,
		KV:      up,
		Watch:   up,
		Bus:     bus,
		Metrics: fanoutMetrics,
		Logger:  opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: fan-out: %w", err)
	}
	return h, nil
}

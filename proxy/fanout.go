package proxy

import (
	"fmt"

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

// newHub builds the fan-out hub of a server.
func newHub(opts Options) (*hub.Hub, error) {
	var bus feed.Bus
	if opts.Fleet != nil {
		bus = opts.Fleet.Topic(hub.Topic)
	}
	up := opts.Upstream
	fo := opts.Fanout
	fo.MaxResponseBytes = MaxRequestBytesWithOverhead(opts.MaxRequestBytes)
	m, err := hub.NewMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("proxy: fan-out: %w", err)
	}
	h, err := hub.New(hub.Config{
		Options: fo,
		Name:    opts.Name,
		KV:      up,
		Watch:   up,
		Bus:     bus,
		Metrics: m,
		Logger:  opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: fan-out: %w", err)
	}
	return h, nil
}

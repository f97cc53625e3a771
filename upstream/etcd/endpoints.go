package etcd

import (
	"log/slog"
	"slices"
	"time"
)

// logEndpointChanges logs the client's endpoints whenever auto-sync
// (--endpoints-auto-sync-interval) replaces them, as etcd grpc-proxy's log
// shows them, until done is closed. It checks at the sync interval.
func (c *Client) logEndpointChanges(every time.Duration, log *slog.Logger, done <-chan struct{}) {
	last := slices.Clone(c.cli.Endpoints())
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := c.cli.Endpoints()
		if !slices.Equal(now, last) {
			log.Info("upstream endpoints synced from etcd's member list", "endpoints", now)
			last = slices.Clone(now)
		}
	}
}

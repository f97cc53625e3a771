package hub

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/upstream"
)

// loadRangeTimeout bounds the read of a range for the cache.
const loadRangeTimeout = 30 * time.Second

// loadRange reads a range the on-demand cache wants from etcd and gives it
// the answer (fanout.Cache.Wants, LoadRange): from then on serializable
// reads of it are served here. The read is linearizable, so that its
// revision is at least the one from which the cache holds the range's
// events.
func (h *Hub) loadRange(w fanout.RangeRequest) {
	defer h.ranging.Done()
	ctx, cancel := context.WithTimeout(h.tickCtx, loadRangeTimeout)
	defer cancel()
	resp, err := h.kv.Range(upstream.AsHerald(ctx), &pb.RangeRequest{Key: w.Key, RangeEnd: w.RangeEnd})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tickLocked()
	if err != nil || resp.Header == nil {
		h.cache.LoadRangeFailed(w.Key, w.RangeEnd)
		h.log.Debug("cannot load a range into the fan-out cache; its reads go to etcd", "key", string(w.Key), "err", err)
		return
	}
	if err := h.cache.LoadRange(w.Key, w.RangeEnd, resp.Header.Revision, resp.Kvs); err != nil {
		h.log.Warn("fan-out cache refused a range it asked for", "err", err)
		return
	}
	h.metrics.RangeLoads.Inc()
	h.rearmLocked()
}

package feed

import (
	"context"
	"time"

	"github.com/heraldproj/herald/fanout"
)

// repairLoop fetches from etcd the events of a gap that the broadcast tree
// did not fill within RepairDelay. A gap that etcd has compacted away is
// repaired by reloading the sink.
func (f *Feed) repairLoop(ctx context.Context) {
	t := time.NewTicker(f.cfg.RepairDelay)
	defer t.Stop()
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.repairKick:
		case <-t.C:
		}
		gap := f.cfg.Sink.Gap()
		if gap == nil {
			since = time.Time{}
			continue
		}
		if since.IsZero() {
			since = time.Now()
		}
		if time.Since(since) < f.cfg.RepairDelay {
			continue
		}
		f.m.Repairs.Inc()
		f.log.Info("repairing a gap from etcd", "from", gap.From, "to", gap.To)
		// gap.From is the sink's revision + 1 when it reported the gap.
		err := f.follow(ctx, gap.From, func(b fanout.Batch) bool {
			f.apply(b)
			return b.Rev >= gap.To
		})
		if f.compacted(err) {
			err = f.reload(ctx)
		}
		if err != nil && ctx.Err() == nil {
			f.log.Warn("repair failed", "err", err)
		}
		since = time.Time{}
	}
}

package feed

import (
	"context"
	"time"

	"github.com/heraldproj/herald/fanout"
)

// repairLoop fetches from etcd the events of a gap that the broadcast tree
// did not fill within RepairDelay. A gap that etcd has compacted away is
// repaired by reloading the sink. It sleeps until a gap is reported (every
// gap kicks it: apply, load) and then until that gap's RepairDelay is up;
// with no gap open it arms no timer.
func (f *Feed) repairLoop(ctx context.Context) {
	var (
		since time.Time // when the open gap was first seen
		fire  <-chan time.Time
		stop  = func() bool { return false }
	)
	defer func() { stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.repairKick:
		case <-fire:
		}
		stop()
		fire = nil
		gap := f.cfg.Sink.Gap()
		if gap == nil {
			since = time.Time{}
			continue
		}
		now := f.cfg.Clock.Now()
		if since.IsZero() {
			since = now
		}
		if wait := f.cfg.RepairDelay - now.Sub(since); wait > 0 {
			fire, stop = f.cfg.Clock.NewTimer(wait)
			continue
		}
		f.m.Repairs.Inc()
		f.log.Info("repairing a gap from the upstream", "from", gap.From, "to", gap.To)
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
		// Look again at once: the repair may have left part of the gap, or
		// a new one, open.
		since = time.Time{}
		fire, stop = f.cfg.Clock.NewTimer(0)
	}
}

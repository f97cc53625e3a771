package offload

import (
	"context"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// followIndex keeps the index current from one upstream watch of the
// reserved keyspace. TEMPORARY: the fleet's feed (one or two feeders for
// the whole fleet, over the broadcast tree) replaces it.
func (o *Offloader) followIndex(ctx context.Context) {
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := o.followOnce(ctx, o.idx.rev()+1)
		if ctx.Err() != nil {
			return
		}
		o.log.Warn("lease index watch failed; reloading", "err", err)
		if !b.wait(ctx) {
			return
		}
		if err := o.reloadIndex(ctx); err != nil {
			o.log.Warn("lease index reload failed", "err", err)
		}
	}
}

func (o *Offloader) followOnce(ctx context.Context, from int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	repath := o.repath.C()
	go func() {
		select {
		case <-repath:
			cancel()
		case <-ctx.Done():
		}
	}()
	w, err := o.up.Watch.Watch(ctx)
	if err != nil {
		return err
	}
	if err := w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
		Key: o.ks.Prefix(), RangeEnd: o.ks.End(), StartRevision: from, PrevKv: true, ProgressNotify: true,
	}}}); err != nil {
		return err
	}
	for {
		resp, err := w.Recv()
		if err != nil {
			return err
		}
		if resp.Canceled || resp.CompactRevision > 0 {
			return fmt.Errorf("watch canceled: %s (compact revision %d)", resp.CancelReason, resp.CompactRevision)
		}
		if len(resp.Events) == 0 {
			continue
		}
		o.indexApplied(resp.Events[len(resp.Events)-1].Kv.ModRevision, resp.Events)
	}
}

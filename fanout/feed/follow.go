package feed

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout"
)

// errCompacted says that etcd has compacted the revision a watch asked for;
// its value is etcd's compact revision.
type errCompacted int64

func (e errCompacted) Error() string {
	return fmt.Sprintf("feed: required revision has been compacted (compact revision %d)", int64(e))
}

// follow watches every prefix upstream from revision from, on one stream,
// and hands emit the events cut into batches chained by revision, as
// fanout.Cutter decides (asking etcd for progress when the Cutter waits
// for it, with several prefixes). When nothing was cut for ProgressEvery,
// follow asks for progress, and etcd's answer is the heartbeat: a progress
// batch up to etcd's revision, or, when that has not moved, a
// fanout.Batch.Heartbeat. follow returns when emit returns true, ctx ends,
// or the watch fails (errCompacted when etcd compacted from).
//
// ctx carries no client metadata (see Config.KV), so the watch needs no
// stripping of outgoing metadata, unlike proxy's relays.
func (f *Feed) follow(ctx context.Context, from int64, emit func(fanout.Batch) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	var heartbeat sync.WaitGroup
	defer func() {
		cancel()
		heartbeat.Wait()
	}()
	w, err := f.cfg.Watch.Watch(ctx)
	if err != nil {
		return fmt.Errorf("feed %s: watch: %w", f.cfg.Topic, err)
	}
	var sendMu sync.Mutex // the heartbeat and this goroutine both send
	askProgress := func() error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return w.RequestProgress()
	}
	for i, p := range f.cfg.Prefixes {
		// No heartbeat runs yet: nothing else sends.
		err := w.Create(&pb.WatchCreateRequest{
			Key: []byte(p), RangeEnd: fanout.PrefixEnd([]byte(p)), StartRevision: from, PrevKv: true, WatchId: int64(i + 1),
		})
		if err != nil {
			return fmt.Errorf("feed %s: watch %q: %w", f.cfg.Topic, p, err)
		}
	}
	var lastEmit atomic.Int64 // unix nanoseconds
	clk := f.cfg.Clock
	lastEmit.Store(clk.Now().UnixNano())
	heartbeat.Add(1)
	go func() {
		defer heartbeat.Done()
		for {
			// Asleep until ProgressEvery after the last batch: a busy feed
			// asks nothing.
			wait := f.cfg.ProgressEvery - clk.Now().Sub(time.Unix(0, lastEmit.Load()))
			if wait > 0 {
				fire, stop := clk.NewTimer(wait)
				select {
				case <-ctx.Done():
					stop()
					return
				case <-fire:
				}
				continue
			}
			if askProgress() != nil {
				return
			}
			lastEmit.Store(clk.Now().UnixNano()) // the next ask, ProgressEvery from now unless a batch comes first
		}
	}()

	cutter := fanout.NewCutter(len(f.cfg.Prefixes), from)
	emitCut := func(b fanout.Batch, hdr *pb.ResponseHeader) bool {
		lastEmit.Store(clk.Now().UnixNano())
		f.cfg.Sink.NoteHeader(hdr)
		return emit(b)
	}
	for {
		resp, err := w.Recv()
		if err != nil {
			return fmt.Errorf("feed %s: watch: %w", f.cfg.Topic, err)
		}
		f.m.UpstreamResponses.Inc()
		switch {
		case resp.Canceled:
			if resp.CompactRevision > 0 {
				return errCompacted(resp.CompactRevision)
			}
			return fmt.Errorf("feed %s: etcd canceled the watch: %s", f.cfg.Topic, resp.CancelReason)
		case resp.CompactRevision > 0:
			return errCompacted(resp.CompactRevision)
		case resp.Created:
			continue
		case len(resp.Events) > 0:
			if b, cut := cutter.Events(resp.Events); cut {
				if emitCut(b, resp.Header) {
					return nil
				}
			} else if err := askProgress(); err != nil {
				return fmt.Errorf("feed %s: watch: %w", f.cfg.Topic, err)
			}
		case resp.WatchId == -1: // the answer to a progress request
			if emitCut(cutter.Progress(resp.Header.GetRevision()), resp.Header) {
				return nil
			}
		}
	}
}

package feed

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/internal/streams"
	"github.com/heraldproj/herald/upstream"
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
// follow sends the heartbeat: from a revision etcd reported on another
// answer since the last cut (Config.Witness), when the chain already holds
// it, or else from etcd's answer to a progress request (a progress batch
// up to etcd's revision, or, when that has not moved, a
// fanout.Batch.Heartbeat). follow returns when emit returns true, ctx
// ends, or the watch fails (errCompacted when etcd compacted from).
//
// ctx carries no client metadata (see Config.KV), so the watch needs no
// stripping of outgoing metadata, unlike proxy's relays.
func (f *Feed) follow(ctx context.Context, from int64, emit func(fanout.Batch) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	var helpers sync.WaitGroup // the heartbeat and the receiver
	defer func() {
		cancel()
		helpers.Wait()
	}()
	w, err := f.cfg.Watch.Watch(ctx)
	if err != nil {
		return fmt.Errorf("feed %s: watch: %w", f.cfg.Topic, err)
	}
	var sendMu sync.Mutex // the heartbeat and this goroutine both send
	askProgress := func() error {
		sendMu.Lock()
		defer sendMu.Unlock()
		f.m.ProgressRequests.Inc()
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
	var last lastCut
	clk := f.cfg.Clock
	last.mark(clk.Now(), f.cfg.Witness)
	witnessed := make(chan int64) // revisions the heartbeat found witnessed; this goroutine cuts
	helpers.Add(1)
	go func() {
		defer helpers.Done()
		f.heartbeat(ctx, &last, askProgress, witnessed)
	}()
	answers, failed := streams.ReceiveWaited(ctx, w.Recv, &helpers)

	cutter := fanout.NewCutter(len(f.cfg.Prefixes), from)
	emitCut := func(b fanout.Batch, hdr *pb.ResponseHeader) bool {
		last.mark(clk.Now(), f.cfg.Witness)
		if hdr != nil {
			f.cfg.Sink.NoteHeader(hdr)
		}
		return emit(b)
	}
	for {
		var resp *pb.WatchResponse
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return fmt.Errorf("feed %s: watch: %w", f.cfg.Topic, err)
		case rev := <-witnessed:
			if b, ok := cutter.Witnessed(rev); ok {
				f.m.WitnessedHeartbeats.Inc()
				if emitCut(b, nil) {
					return nil
				}
			} else if err := askProgress(); err != nil {
				return fmt.Errorf("feed %s: watch: %w", f.cfg.Topic, err)
			}
			continue
		case resp = <-answers:
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

// lastCut is when follow last cut a batch (or last asked for one), and
// how many answers its Witness had noted by then.
type lastCut struct {
	at    atomic.Int64 // unix nanoseconds
	notes atomic.Uint64
}

func (l *lastCut) mark(now time.Time, w *upstream.Witness) {
	_, n := w.Seen()
	l.notes.Store(n)
	l.at.Store(now.UnixNano())
}

// heartbeat runs beside follow's loop. ProgressEvery after the last cut,
// if etcd has answered herald since (Config.Witness), it hands the loop
// the revision etcd reported, for the loop to cut a heartbeat from (or to
// ask for progress, when the chain does not hold that revision yet). If
// etcd has not answered since, it waits up to half a ProgressEvery more
// for an answer, and then asks etcd for progress itself. A busy feed asks
// nothing, and neither does an idle one on a herald whose session
// keepalives come at least every 1.5 ProgressEvery.
func (f *Feed) heartbeat(ctx context.Context, last *lastCut, askProgress func() error, witnessed chan<- int64) {
	clk := f.cfg.Clock
	var gracedAt int64 // the cut whose wait for an answer was extended
	for {
		at := last.at.Load()
		graced := gracedAt == at
		wait := f.cfg.ProgressEvery - clk.Now().Sub(time.Unix(0, at))
		if graced {
			wait += f.cfg.ProgressEvery / 2
		}
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
		switch rev, n := f.cfg.Witness.Seen(); {
		case n != last.notes.Load():
			select {
			case witnessed <- rev:
			case <-ctx.Done():
				return
			}
		case f.cfg.Witness != nil && !graced:
			gracedAt = at
			continue
		default:
			if askProgress() != nil {
				return
			}
		}
		// The next heartbeat ProgressEvery from now, unless a batch comes
		// first (the loop marks its own cuts too).
		last.mark(clk.Now(), f.cfg.Witness)
	}
}

package feed

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/internal/backoff"
)

// shouldFeed reports whether this herald ranks among the feeders of its
// topic (fanout.IsFeeder: rendezvous hashing over the fleet's membership).
// A new feeder resumes from its sink's revision, so a handover loses and
// repeats nothing.
func (f *Feed) shouldFeed() bool {
	members := []string{f.cfg.Name}
	if f.cfg.Bus != nil {
		members = f.cfg.Bus.Members()
	}
	return fanout.IsFeeder(f.cfg.Topic, f.cfg.Name, members, f.cfg.Feeders)
}

// feederRecheck is how long the feeder choice waits for a membership change
// before it looks again, in case a change was coalesced away.
const feederRecheck = time.Second

// feederLoop starts and stops feeding as membership changes (and checks
// every feederRecheck).
func (f *Feed) feederLoop(ctx context.Context) {
	var changes <-chan struct{}
	if f.cfg.Bus != nil {
		changes = f.cfg.Bus.Changes()
	}
	var feeder background
	defer feeder.stop()
	for {
		switch want := f.shouldFeed(); {
		case want && !feeder.running():
			feeder.start(ctx, f.feed)
		case !want && feeder.running():
			feeder.stop()
		}
		recheck, stop := f.cfg.Clock.NewTimer(feederRecheck)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-changes:
		case <-recheck:
		}
		stop()
	}
}

// background is one goroutine that can be started and stopped; stop waits
// for it.
type background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (b *background) running() bool { return b.cancel != nil }

func (b *background) start(ctx context.Context, run func(context.Context)) {
	ctx, b.cancel = context.WithCancel(ctx)
	b.wg.Add(1)
	go func() { defer b.wg.Done(); run(ctx) }()
}

func (b *background) stop() {
	if b.cancel != nil {
		b.cancel()
		b.wg.Wait()
		b.cancel = nil
	}
}

// feed holds the upstream watch and broadcasts what it returns, until ctx
// ends; after a failure it resumes from the sink's revision.
func (f *Feed) feed(ctx context.Context) {
	f.feeding.Store(true)
	f.m.Feeding.Set(1)
	defer func() {
		f.m.Feeding.Set(0)
		f.feeding.Store(false)
		// The role moved to another herald, or this one is closing.
		f.log.Info("no longer feeding the fleet from the upstream")
	}()
	f.log.Info("feeding the fleet from the upstream")
	b := backoff.New(100*time.Millisecond, 5*time.Second)
	pastOwn := int64(-1) // the sink's revision when the upstream could not serve it
	for ctx.Err() == nil {
		// From the sink's own revision, not the next one: etcd answers no
		// progress request while a watch waits for a future revision, and
		// the feeder's heartbeats must flow on an idle cluster too. The one
		// revision of overlap is applied once (the sink is idempotent).
		from := f.cfg.Sink.Rev()
		if from == pastOwn {
			from++ // see ownRevisionGone
		}
		repath := f.repathC()
		fctx, cancel := context.WithCancel(ctx)
		watched := make(chan struct{}) // the path watcher ended: this loop waits for it
		go func() {
			defer close(watched)
			select {
			case <-repath:
				cancel()
			case <-fctx.Done():
			}
		}()
		err := f.follow(fctx, from, func(b fanout.Batch) bool {
			f.apply(b)
			f.broadcast(ctx, b)
			return false
		})
		cancel()
		<-watched
		if ctx.Err() != nil {
			return
		}
		select {
		case <-repath:
			b.Reset()
			continue // reopen at once, on the upstream's new path
		default:
		}
		if f.compacted(err) {
			if rev := f.cfg.Sink.Rev(); ownRevisionGone(err, rev) && pastOwn != rev {
				pastOwn = rev
				continue
			}
			// The sink fell behind etcd's compaction: reload it, and the
			// fleet follows through its gap repair.
			if err = f.reload(ctx); err == nil {
				continue
			}
		}
		f.log.Warn("feeder watch failed; resuming", "err", err)
		// A path change while the watch failed cuts the pause short.
		if !b.WaitOr(ctx, repath) {
			return
		}
	}
}

// ownRevisionGone reports whether err says that the upstream can serve a
// watch from rev+1 but not from rev, the sink's revision, which the sink
// already holds in full. A ZooKeeper upstream answers so until its first
// write after it dialled (its history starts above the revision it dialled
// at); etcd does when it has compacted exactly at rev+1. The feeder then
// watches from rev+1, and reloads nothing: a reload would read the same
// revision and fail the same way, again and again, and each reload
// restarts the fleet's windows. Its heartbeats wait for the next write
// (no upstream answers progress for a watch from a future revision).
func ownRevisionGone(err error, rev int64) bool {
	var c errCompacted
	return errors.As(err, &c) && int64(c) == rev+1
}

func (f *Feed) broadcast(ctx context.Context, b fanout.Batch) {
	if f.cfg.Bus == nil {
		return
	}
	payload, err := b.MarshalBinary()
	if err == nil {
		err = f.cfg.Bus.Broadcast(ctx, payload)
	}
	if err != nil && ctx.Err() == nil {
		f.log.Warn("broadcasting a batch failed", "rev", b.Rev, "err", err)
	}
}

// Reconnect ends the feeder's upstream watch, if this herald feeds, so
// that it reopens at once on the upstream's current path: after herald's
// upstream switched between etcd and a peer (relay), a watch left on the
// dead path would hang until TCP gave up. It does not block.
func (f *Feed) Reconnect() {
	f.repathMu.Lock()
	defer f.repathMu.Unlock()
	if f.repath != nil {
		close(f.repath)
	}
	f.repath = make(chan struct{})
}

// repathC is closed at the next Reconnect.
func (f *Feed) repathC() <-chan struct{} {
	f.repathMu.Lock()
	defer f.repathMu.Unlock()
	if f.repath == nil {
		f.repath = make(chan struct{})
	}
	return f.repath
}

package tests

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchCreatePatience bounds the wait for a watch to be created; a hang
// becomes a failure, it is not a threshold.
const watchCreatePatience = 30 * time.Second

// rewatchDelay is how long the watcher waits before it watches again after
// its channel ended.
const rewatchDelay = 100 * time.Millisecond

// deleteWatcher watches a prefix and reports every DELETE, with the instant
// it arrived, to a callback. If its watch channel ends (a cancel, a
// compaction) it records the error and watches again from the revision
// after the last one it saw, so that no DELETE is missed unless the history
// was compacted.
type deleteWatcher struct {
	cli      *clientv3.Client
	prefix   string
	onDelete func(key string, at time.Time)
	cancel   context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	errs    []string
	lastRev int64 // every event up to it has been seen
}

// startDeleteWatcher returns once the watch is created; the watcher owns cli
// and closes it in close.
func startDeleteWatcher(ctx context.Context, cli *clientv3.Client, prefix string, onDelete func(string, time.Time)) (*deleteWatcher, error) {
	wctx, cancel := context.WithCancel(ctx)
	w := &deleteWatcher{cli: cli, prefix: prefix, onDelete: onDelete, cancel: cancel, done: make(chan struct{})}
	wch := cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	select {
	case resp, ok := <-wch:
		if !ok || resp.Err() != nil || !resp.Created {
			cancel()
			cli.Close()
			return nil, fmt.Errorf("watch %q: not created (open %v, err %v)", prefix, ok, resp.Err())
		}
		w.lastRev = resp.Header.Revision
	case <-time.After(watchCreatePatience):
		cancel()
		cli.Close()
		return nil, fmt.Errorf("watch %q: not created within %v", prefix, watchCreatePatience)
	}
	go w.run(wctx, wch)
	return w, nil
}

func (w *deleteWatcher) run(ctx context.Context, wch clientv3.WatchChan) {
	defer close(w.done)
	for {
		for resp := range wch {
			now := time.Now()
			w.mu.Lock()
			if err := resp.Err(); err != nil && ctx.Err() == nil {
				w.errs = append(w.errs, err.Error())
			}
			if resp.CompactRevision > w.lastRev {
				w.lastRev = resp.CompactRevision - 1 // what was before is gone for good
			}
			if len(resp.Events) == 0 && resp.Header.Revision > w.lastRev && resp.Err() == nil {
				w.lastRev = resp.Header.Revision // progress: nothing below it is pending
			}
			for _, ev := range resp.Events {
				w.lastRev = max(w.lastRev, ev.Kv.ModRevision)
			}
			w.mu.Unlock()
			for _, ev := range resp.Events {
				if ev.Type == mvccpb.DELETE {
					w.onDelete(string(ev.Kv.Key), now)
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		from := w.lastRev + 1
		w.errs = append(w.errs, fmt.Sprintf("watch channel closed; watching again from revision %d", from))
		w.mu.Unlock()
		select { // a watch refused again and again must not spin
		case <-ctx.Done():
			return
		case <-time.After(rewatchDelay):
		}
		wch = w.cli.Watch(ctx, w.prefix, clientv3.WithPrefix(), clientv3.WithRev(from))
	}
}

// errors returns the watch's errors so far.
func (w *deleteWatcher) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.errs...)
}

// close ends the watch, waits for its goroutine and closes the client. It
// is idempotent.
func (w *deleteWatcher) close() {
	w.cancel()
	<-w.done
	w.cli.Close()
}

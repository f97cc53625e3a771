package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/internal/backoff"
)

// Follower follows the keys of one range of the key tree with ZooKeeper's
// one-shot watches, re-armed by the reads that follow each notification,
// and turns what changed into etcd events in revision order (doc.go has
// the argument why none is lost). It has no goroutine of its own: the
// caller's Next and Progress do the reads. They must not run concurrently;
// Close may be called at any time.
type Follower struct {
	c          *Client
	key, end   []byte // end nil: no end
	root       string // the directory the range lies in
	rootPrefix []byte

	mu     sync.Mutex // guards queue and closed; never held across a read
	queue  []notice
	wake   chan struct{} // cap 1: the queue has something
	closed bool

	// The rest belongs to the caller of Next and Progress.
	dirs    map[string]*watchedDir
	leaves  map[string]*mvccpb.KeyValue // by path: each key as last read
	unarmed map[string]bool             // keys whose last read found no znode: no data watch
	shown   map[string]*mvccpb.KeyValue // by key: as last emitted (prev_kv)
	held    []pendingEvent              // found, not yet below the bound
	seq     int64
	start   int64 // the revision the follower started at
	bound   int64 // every change up to it has been emitted
	barrier int64 // the revision the last round's barrier read
}

// Batch is what Next and Progress return: every change up to Revision not
// returned before, in revision order (possibly none: a progress mark).
type Batch struct {
	Revision int64
	Events   []*mvccpb.Event
}

type watchedDir struct {
	prefix []byte
	names  map[string]bool // child name → is a directory, as last listed
	pzxid  int64           // the directory's pzxid at that listing
}

type pendingEvent struct {
	rev, seq int64
	typ      mvccpb.Event_EventType
	kv       *mvccpb.KeyValue
}

// notice is one notification for the follower.
type notice struct {
	path   string
	typ    zk.EventType
	resync bool // the session's watches are gone: read everything again
	closed bool
}

var errFollowerClosed = errors.New("zookeeper: follower closed")

// Follow starts following the keys in [key, end) (end empty: key alone;
// "\x00": every key from key on). It returns once it knows the range's
// state at its start revision (Revision); the first batch holds the
// changes after it.
func (c *Client) Follow(ctx context.Context, key, end []byte) (*Follower, error) {
	switch {
	case len(end) == 0:
		end = append(bytes.Clone(key), 0)
	case isOpenEnd(end):
		end = nil
	}
	top := topPrefix(key, end)
	f := &Follower{
		c: c, key: bytes.Clone(key), end: bytes.Clone(end),
		root: dirPath(c.paths.kv, top), rootPrefix: bytes.Clone(top),
		wake: make(chan struct{}, 1),
		dirs: map[string]*watchedDir{}, leaves: map[string]*mvccpb.KeyValue{}, unarmed: map[string]bool{}, shown: map[string]*mvccpb.KeyValue{},
	}
	if !c.router.add(f) {
		return nil, errFollowerClosed
	}
	if err := f.load(ctx); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Revision is the revision the follower started at: its events are the
// changes after it.
func (f *Follower) Revision() int64 { return f.start }

// Close stops the follower; a Next in progress returns.
func (f *Follower) Close() {
	f.c.router.remove(f)
	f.notify(notice{closed: true})
}

func (f *Follower) notify(n notice) {
	f.mu.Lock()
	if n.closed {
		f.closed = true
	}
	f.queue = append(f.queue, n)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (f *Follower) take() ([]notice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errFollowerClosed
	}
	q := f.queue
	f.queue = nil
	return q, nil
}

func (f *Follower) queued() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue) > 0
}

// load reads the range until a round has a bound (at most two rounds
// without errors: the first may leave notifications pending), and starts
// at that bound: what the reads found up to it is the state the follower
// starts from, what they found above it are its first events.
func (f *Follower) load(ctx context.Context) error {
	f.dirs[f.root] = &watchedDir{prefix: f.rootPrefix, names: map[string]bool{}}
	w := newWork()
	w.dirs[f.root] = true
	b := backoff.New(time.Millisecond, 100*time.Millisecond)
	for {
		err := f.round(w)
		switch {
		case err == nil && f.bound > 0:
			f.emit() // the state at the start: not events
			f.start = f.bound
			return nil
		case errors.Is(err, errFollowerClosed):
			return err
		case err != nil:
			f.c.log.Info("zookeeper: follower: loading", "root", f.root, "err", err)
			if !b.Wait(ctx) {
				return fmt.Errorf("zookeeper: follow %q: %w", f.key, ctx.Err())
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("zookeeper: follow %q: %w", f.key, ctx.Err())
		}
		failed := err != nil
		if w, err = f.workFromQueue(); err != nil {
			return err
		}
		// After a failed round, read everything again.
		w.resync = w.resync || failed
	}
}

// Next returns the next batch that holds events, waiting for them until
// ctx ends or the follower is closed. A lost connection or session is
// retried (with a backoff) and never costs an event.
func (f *Follower) Next(ctx context.Context) (Batch, error) {
	b := backoff.New(time.Millisecond, time.Second)
	for {
		if batch := f.emit(); len(batch.Events) > 0 {
			return batch, nil
		}
		if len(f.held) == 0 && !f.queued() {
			select {
			case <-ctx.Done():
				return Batch{}, ctx.Err()
			case <-f.wake:
			}
		}
		if err := f.step(); err != nil {
			if errors.Is(err, errFollowerClosed) {
				return Batch{}, err
			}
			f.c.log.Info("zookeeper: follower: round failed, reading again", "root", f.root, "err", err)
			f.notify(notice{resync: true})
			if !b.Wait(ctx) {
				return Batch{}, ctx.Err()
			}
			continue
		}
		b.Reset()
	}
}

// Progress runs a round now and returns what it emits, with the revision
// up to which every change has been emitted: etcd's progress notification.
func (f *Follower) Progress(ctx context.Context) (Batch, error) {
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	if err := f.step(); err != nil {
		if !errors.Is(err, errFollowerClosed) {
			f.notify(notice{resync: true})
		}
		return Batch{}, err
	}
	return f.emit(), nil
}

// step runs one round on what the queue holds.
func (f *Follower) step() error {
	w, err := f.workFromQueue()
	if err != nil {
		return err
	}
	return f.round(w)
}

// emit returns the found events at or below the bound, in revision order
// (sortPending), with prev_kv from what was emitted before.
func (f *Follower) emit() Batch {
	batch := Batch{Revision: f.bound}
	var keep []pendingEvent
	var out []pendingEvent
	for _, e := range f.held {
		if e.rev <= f.bound {
			out = append(out, e)
		} else {
			keep = append(keep, e)
		}
	}
	f.held = keep
	sortPending(out)
	for _, e := range out {
		ev := &mvccpb.Event{Type: e.typ, Kv: cloneKV(e.kv)}
		if prev, ok := f.shown[string(e.kv.Key)]; ok {
			ev.PrevKv = cloneKV(prev)
		}
		if e.typ == mvccpb.DELETE {
			delete(f.shown, string(e.kv.Key))
		} else {
			f.shown[string(e.kv.Key)] = e.kv
		}
		batch.Events = append(batch.Events, ev)
	}
	return batch
}

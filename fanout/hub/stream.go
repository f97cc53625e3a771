package hub

import (
	"context"
	"errors"
	"io"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/internal/streams"
	"github.com/heraldproj/herald/upstream"
)

// stream is one client watch stream served by the hub. Watchers inside
// the fan-out prefixes are served from the cache; the others (the engine
// reserves their ids) are forwarded over one upstream stream opened on
// demand; watchers that start before the cache's window catch up from an
// upstream watch of their own and then switch to the cache.
type stream struct {
	s      *fanout.Stream // guarded by Hub.mu
	notify chan struct{}
}

func (s *stream) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// catchUpMsg carries what a catch-up watch returned.
type catchUpMsg struct {
	id         int64
	events     []*mvccpb.Event
	upto       int64
	compactRev int64
	err        error
}

// Serve runs one client watch stream until the client goes away (it
// blocks as long). keep, when set, filters what is sent to the client (it
// may rewrite a response in place: the hub sends the response it kept and
// no longer uses it). Serve does not check permissions: a stream that
// carries an auth token belongs with etcd.
func (h *Hub) Serve(client pb.Watch_WatchServer, keep func(*pb.WatchResponse) bool) error {
	ctx, cancel := context.WithCancel(client.Context())
	// The catch-ups and the forwarder's receiver end with ctx: Serve
	// cancels it, then waits for them.
	var running sync.WaitGroup
	defer running.Wait()
	defer cancel()

	hs := &stream{notify: make(chan struct{}, 1)}
	h.mu.Lock()
	h.tickLocked() // the stream's progress ticker counts from now
	hs.s = h.cache.NewStream()
	h.streams[hs.s] = hs
	h.rearmLocked()
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.streams, hs.s)
		hs.s.Close()
		h.mu.Unlock()
	}()

	reqs, recvErr := streams.Receive(ctx, client.Recv)

	fw := &forwarder{ctx: ctx, wc: h.wc, running: &running}
	catchUps := map[int64]context.CancelFunc{}
	defer func() {
		for _, stop := range catchUps {
			stop()
		}
	}()
	caught := make(chan catchUpMsg)

	send := func(resp *pb.WatchResponse) error {
		if keep != nil && !keep(resp) {
			return nil
		}
		return client.Send(resp)
	}
	// drain does what the engine asks; it never holds Hub.mu while sending.
	// What the engine held back (a watcher's MaxPendingBytes) is ready once
	// this is sent: the stream wakes itself for it, as nothing else will.
	drain := func() error {
		h.mu.Lock()
		if !hs.s.HasReady() {
			h.mu.Unlock()
			return nil
		}
		rd := hs.s.Ready()
		more := hs.s.HasReady()
		h.mu.Unlock()
		if more {
			defer hs.wake()
		}
		for _, r := range rd.Responses {
			if err := send(r); err != nil {
				return err
			}
		}
		for _, id := range rd.StopCatchUps {
			if stop, ok := catchUps[id]; ok {
				stop()
				delete(catchUps, id)
			}
		}
		for _, cu := range rd.CatchUps {
			cctx, stop := context.WithCancel(ctx)
			catchUps[cu.WatchID] = stop
			running.Add(1)
			go func() { defer running.Done(); h.catchUp(cctx, cu, caught) }()
		}
		for _, creq := range rd.Forwards {
			if err := fw.send(func(w upstream.WatchStream) error { return w.Create(creq) }); err != nil {
				return err
			}
		}
		for _, id := range rd.ForwardCancels {
			if err := fw.send(func(w upstream.WatchStream) error { return w.Cancel(id) }); err != nil {
				return err
			}
		}
		if rd.ForwardProgress {
			// Mixed stream: etcd's answer covers the forwarded watchers; the
			// cache's watchers are at most one feeder hop behind it.
			if err := fw.send(upstream.WatchStream.RequestProgress); err != nil {
				return err
			}
		}
		return nil
	}

	for {
		var err error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err = <-recvErr:
			if !errors.Is(err, io.EOF) {
				return err
			}
			// Half-close: etcd keeps sending; so does herald.
			recvErr = nil
			err = nil
		case req := <-reqs:
			var refused *pb.WatchResponse
			if req, refused, err = h.prepareCreate(ctx, req); err != nil {
				return err
			}
			if refused != nil {
				err = send(refused)
				break
			}
			h.mu.Lock()
			hs.s.Handle(req)
			h.mu.Unlock()
			err = drain()
		case <-hs.notify:
			err = drain()
		case resp := <-fw.responses():
			err = send(resp)
		case err = <-fw.errs():
		case m := <-caught:
			h.mu.Lock()
			done := false
			switch {
			case m.compactRev > 0:
				hs.s.CatchUpCompacted(m.id, m.compactRev)
				done = true
			case m.err == nil:
				done = hs.s.CatchUp(m.id, m.events, m.upto)
			}
			h.mu.Unlock()
			if m.err != nil {
				return m.err
			}
			if done {
				if stop, ok := catchUps[m.id]; ok {
					stop()
					delete(catchUps, m.id)
				}
			}
			err = drain()
		}
		if err != nil {
			return err
		}
	}
}

// catchUp watches one watcher's range upstream from its start revision and
// passes what comes back to the stream, with the revision through which it
// is complete: the last event's revision for an events answer (etcd never
// splits a revision across unfragmented answers), or the header revision
// of the answer to a progress request (sent only once the watch is synced).
func (h *Hub) catchUp(ctx context.Context, cu fanout.CatchUpRequest, out chan<- catchUpMsg) {
	deliver := func(m catchUpMsg) bool {
		select {
		case out <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// As herald's etcd user: the client's permission was checked at the
	// create (permit), and learnCompaction's read as herald, just before,
	// has renewed herald's token if it had gone stale.
	ctx, cancel := context.WithCancel(upstream.AsHerald(ctx))
	defer cancel()
	w, err := h.wc.Watch(ctx)
	if err == nil {
		err = w.Create(&pb.WatchCreateRequest{Key: cu.Key, RangeEnd: cu.RangeEnd, StartRevision: cu.StartRevision, PrevKv: true})
	}
	for err == nil {
		var resp *pb.WatchResponse
		if resp, err = w.Recv(); err != nil {
			break
		}
		h.metrics.Feed.UpstreamResponses.Inc()
		switch {
		case resp.CompactRevision > 0:
			deliver(catchUpMsg{id: cu.WatchID, compactRev: resp.CompactRevision})
			return
		case resp.Canceled:
			err = errors.New("hub: catch-up watch canceled: " + resp.CancelReason)
		case resp.Created:
			err = w.RequestProgress()
		case len(resp.Events) > 0:
			last := resp.Events[len(resp.Events)-1].Kv.ModRevision
			if !deliver(catchUpMsg{id: cu.WatchID, events: resp.Events, upto: last}) {
				return
			}
			err = w.RequestProgress()
		case resp.WatchId == invalidWatchID:
			if !deliver(catchUpMsg{id: cu.WatchID, upto: resp.Header.GetRevision()}) {
				return
			}
		}
	}
	if ctx.Err() == nil {
		deliver(catchUpMsg{id: cu.WatchID, err: err})
	}
}

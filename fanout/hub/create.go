package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/upstream"
)

// catchUpWait bounds how long a new watch waits for the cache to reach the
// revision this herald already showed its clients.
const catchUpWait = time.Second

// prepareCreate adjusts a watch create request bound for the cache so that
// it starts where etcd would start it:
//
//   - with no start revision, after the newest revision this herald has
//     relayed (a client that saw its write acknowledged must not receive it
//     as an event): it waits for the cache to get there, briefly, and
//     otherwise asks for that revision explicitly;
//   - with a start revision, it first learns whether etcd has compacted it,
//     and etcd's compact revision if so, so that the engine answers with
//     etcd's compacted cancel rather than history from its window.
//
// A create the client may not make (permit) is not passed on: prepareCreate
// returns etcd's answer to it instead. An error means the permission could
// not be checked.
func (h *Hub) prepareCreate(ctx context.Context, req *pb.WatchRequest) (*pb.WatchRequest, *pb.WatchResponse, error) {
	creq := req.GetCreateRequest()
	if creq == nil {
		return req, nil, nil
	}
	// Forwarded creates are checked too: the cache gives a forwarded
	// watch its ID, which etcd's refusal (watch ID -1) would leave taken.
	// A negative start revision is refused before any permission check,
	// by the cache as by etcd.
	if creq.StartRevision >= 0 && h.mustPermit(ctx) {
		if refused, err := h.permit(ctx, creq); refused != nil || err != nil {
			return nil, refused, err
		}
	}
	h.mu.Lock()
	covered := h.cache.Covers(creq.Key, creq.RangeEnd)
	h.mu.Unlock()
	if !covered {
		return req, nil, nil
	}
	if creq.StartRevision > 0 {
		h.learnCompaction(ctx, creq.Key, creq.StartRevision)
		return req, nil, nil
	}
	target := h.seen.Load()
	if h.reaches(ctx, target, catchUpWait) {
		return req, nil, nil
	}
	out := proto.Clone(req).(*pb.WatchRequest)
	out.GetCreateRequest().StartRevision = target + 1
	return out, nil, nil
}

// reaches waits, up to within, for the cache to reach revision target,
// woken each time the cache moves; false if it did not.
func (h *Hub) reaches(ctx context.Context, target int64, within time.Duration) bool {
	timeout, stop := h.clock.NewTimer(within)
	defer stop()
	for {
		h.mu.Lock()
		rev, moved := h.cache.Rev(), h.moved
		h.mu.Unlock()
		if rev >= target {
			return true
		}
		select {
		case <-moved:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// learnCompaction asks etcd whether start is compacted (a serializable
// count at that revision fails with ErrCompacted exactly when start is
// below etcd's compact revision) and, if so, learns etcd's compact revision
// from one watch create at start, which etcd cancels with it, and records
// it. A ZooKeeper upstream fails every read at a past revision, yet serves
// watches from its window: there, the watch create is served and nothing
// is recorded.
func (h *Hub) learnCompaction(ctx context.Context, key []byte, start int64) {
	h.mu.Lock()
	known := h.cache.CompactRev()
	h.mu.Unlock()
	if start < known {
		return
	}
	_, err := h.kv.Range(upstream.AsHerald(ctx), &pb.RangeRequest{Key: key, Revision: start, CountOnly: true, Serializable: true})
	if !errors.Is(rpctypes.Error(err), rpctypes.ErrCompacted) {
		return
	}
	if rev, err := h.compactRevision(ctx, key, start); err == nil {
		h.SetCompactRev(rev)
	}
}

// errServed says that the upstream serves a watch from the revision asked.
var errServed = errors.New("hub: the upstream serves the watch")

// compactRevision creates a watch at start and returns the compact revision
// the upstream cancels it with, or errServed when the upstream serves it:
// an event, or the answer to a progress request, comes first (neither etcd
// nor herald's ZooKeeper upstream answers progress while a watch catches
// up, and a compacted one never catches up). It gives up after
// compactionWait on the hub's clock.
func (h *Hub) compactRevision(ctx context.Context, key []byte, start int64) (int64, error) {
	ctx, cancel := clock.WithTimeout(upstream.AsHerald(ctx), h.clock, compactionWait)
	defer cancel()
	ws, err := h.wc.Watch(ctx)
	if err != nil {
		return 0, err
	}
	if err := ws.Create(&pb.WatchCreateRequest{Key: key, StartRevision: start}); err != nil {
		return 0, err
	}
	for {
		resp, err := ws.Recv()
		switch {
		case err != nil:
			return 0, err
		case resp.CompactRevision > 0:
			return resp.CompactRevision, nil
		case resp.Canceled:
			return 0, fmt.Errorf("hub: etcd cancelled a watch at compacted revision %d without its compact revision: %s", start, resp.CancelReason)
		case resp.Created:
			if err := ws.RequestProgress(); err != nil {
				return 0, err
			}
		case len(resp.Events) > 0 || resp.WatchId == invalidWatchID:
			return 0, errServed
		}
	}
}

// invalidWatchID is etcd's watch ID (clientv3.InvalidWatchID) of an answer
// to a progress request and of a refused create.
const invalidWatchID = -1

// compactionWait bounds compactRevision (etcd answers a watch at a
// compacted revision within its next sync of unsynced watchers, 100 ms).
const compactionWait = 5 * time.Second

package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/lease"
)

// fleetIndex follows the reserved prefix upstream with a watch, so that any
// herald can show the virtual lease of a key written through another one,
// and list every herald's virtual leases. It is an index for reads only:
// what a herald deletes on expiry comes from its own table.
type fleetIndex struct {
	kv     pb.KVClient
	wc     pb.WatchClient
	res    reserved
	log    *slog.Logger
	onHead func(*pb.ResponseHeader)

	mu       sync.RWMutex
	carriers map[int64]bool
	keyLease map[string]lease.ID
	leases   map[lease.ID]bool
	synced   chan struct{} // closed after the first full listing

	// Attachments deleted lately, so that the DELETE events of an expired
	// lease's keys, which a client's watch may receive after the index saw
	// the attachments go, still show the virtual lease in prev_kv.
	tombs     map[string]lease.ID
	tombQueue []tomb
}

// tombLife is how long a deleted attachment is remembered.
const tombLife = time.Minute

type tomb struct {
	key string
	id  lease.ID
	at  time.Time
}

func newFleetIndex(kv pb.KVClient, wc pb.WatchClient, res reserved, log *slog.Logger, onHead func(*pb.ResponseHeader)) *fleetIndex {
	return &fleetIndex{kv: kv, wc: wc, res: res, log: log, onHead: onHead, synced: make(chan struct{}),
		carriers: map[int64]bool{}, keyLease: map[string]lease.ID{}, leases: map[lease.ID]bool{}, tombs: map[string]lease.ID{}}
}

func (f *fleetIndex) isCarrier(id int64) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.carriers[id]
}

func (f *fleetIndex) leaseOf(key []byte) (lease.ID, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if id, ok := f.keyLease[string(key)]; ok {
		return id, true
	}
	id, ok := f.tombs[string(key)]
	return id, ok
}

func (f *fleetIndex) hasLease(id lease.ID) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.leases[id]
}

func (f *fleetIndex) allLeases() []lease.ID {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]lease.ID, 0, len(f.leases))
	for id := range f.leases {
		out = append(out, id)
	}
	return out
}

func (f *fleetIndex) allCarriers() map[int64]bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[int64]bool, len(f.carriers))
	for id := range f.carriers {
		out[id] = true
	}
	return out
}

// run lists the reserved prefix, then follows it with a watch, listing
// again after any watch failure, until ctx ends.
func (f *fleetIndex) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		rev, err := f.list(ctx)
		if err == nil {
			backoff = 100 * time.Millisecond
			err = f.follow(ctx, rev+1)
		}
		if ctx.Err() != nil {
			return
		}
		f.log.Warn("fleet lease index: resyncing", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (f *fleetIndex) list(ctx context.Context) (int64, error) {
	resp, err := f.kv.Range(internalCtx(ctx), &pb.RangeRequest{Key: f.res.prefix, RangeEnd: f.res.end})
	if err != nil {
		return 0, err
	}
	f.onHead(resp.Header)
	f.mu.Lock()
	f.carriers, f.keyLease, f.leases = map[int64]bool{}, map[string]lease.ID{}, map[lease.ID]bool{}
	for _, kv := range resp.Kvs {
		f.applyLocked(kv, false)
	}
	f.mu.Unlock()
	select {
	case <-f.synced:
	default:
		close(f.synced)
	}
	return resp.Header.Revision, nil
}

func (f *fleetIndex) follow(ctx context.Context, from int64) error {
	ctx, cancel := context.WithCancel(internalCtx(ctx))
	defer cancel()
	w, err := f.wc.Watch(ctx)
	if err != nil {
		return err
	}
	err = w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
		Key: f.res.prefix, RangeEnd: f.res.end, StartRevision: from, ProgressNotify: true,
	}}})
	if err != nil {
		return err
	}
	for {
		resp, err := w.Recv()
		if err != nil {
			return err
		}
		if resp.Canceled {
			return errWatchCanceled(resp.CancelReason)
		}
		f.onHead(resp.Header)
		if len(resp.Events) == 0 {
			continue
		}
		f.mu.Lock()
		for _, ev := range resp.Events {
			f.applyLocked(ev.Kv, ev.Type == mvccpb.DELETE)
		}
		f.mu.Unlock()
	}
}

type errWatchCanceled string

func (e errWatchCanceled) Error() string { return "watch canceled: " + string(e) }

// applyLocked folds one reserved key into the index.
func (f *fleetIndex) applyLocked(kv *mvccpb.KeyValue, deleted bool) {
	name, ok := bytes.CutPrefix(kv.Key, f.res.prefix)
	if !ok {
		return
	}
	kind, rest, _ := strings.Cut(string(name), "/")
	switch kind {
	case "leases":
		if id, ok := parseHexID(rest); ok {
			if deleted {
				delete(f.leases, id)
			} else {
				f.leases[id] = true
			}
		}
	case "keys":
		idHex, key, ok := strings.Cut(rest, "/")
		id, okID := parseHexID(idHex)
		if !ok || !okID {
			return
		}
		if deleted {
			if f.keyLease[key] == id {
				delete(f.keyLease, key)
				f.buryLocked(key, id, time.Now())
			}
		} else {
			f.keyLease[key] = id
		}
	case "carriers":
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			return
		}
		v, err := strconv.ParseUint(rest[i+1:], 16, 64)
		if err != nil {
			return
		}
		if deleted {
			delete(f.carriers, int64(v))
		} else {
			f.carriers[int64(v)] = true
		}
	}
}

// buryLocked remembers a deleted attachment for tombLife and forgets the
// ones older than that.
func (f *fleetIndex) buryLocked(key string, id lease.ID, now time.Time) {
	for len(f.tombQueue) > 0 && now.Sub(f.tombQueue[0].at) > tombLife {
		old := f.tombQueue[0]
		if f.tombs[old.key] == old.id {
			delete(f.tombs, old.key)
		}
		f.tombQueue = f.tombQueue[1:]
	}
	f.tombs[key] = id
	f.tombQueue = append(f.tombQueue, tomb{key: key, id: id, at: now})
}

package zookeeper

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/tests/harness"
)

// TestWatchFromBeforeTheHistoryIsCompacted: with a history of two events,
// a watch from an older revision gets etcd's answers for a watch from
// before its compaction (created, then the compacted cancel; the ID stays
// taken until cancelled), and a watch from the compact revision it names
// is served: it is the oldest revision the history holds.
func TestWatchFromBeforeTheHistoryIsCompacted(t *testing.T) {
	w := newWatchDiffer(t, func(cfg *Config) { cfg.WatchHistory = 2 })
	var eRevs, zRevs []int64
	for i := range 5 {
		w.write(put(fmt.Sprintf("k%d", i), "v"))
		eRevs, zRevs = append(eRevs, w.eRev), append(zRevs, w.zRev)
	}
	awaitHistory(t, w.d.zk, w.zRev)
	// The window keeps k3 and k4: the oldest revision it serves is above
	// k2's and at most k3's, as etcd's after a compaction at k3's.
	compactRev := w.d.zk.hist.view().floor + 1
	if compactRev <= zRevs[2] || compactRev > zRevs[3] {
		t.Fatalf("history serves from %d; writes at %v", compactRev, zRevs)
	}
	w.d.revs[compactRev] = eRevs[3]
	if _, err := w.d.etcd.Compact(context.Background(), &pb.CompactionRequest{Revision: eRevs[3], Physical: true}); err != nil {
		t.Fatal(err)
	}

	w.create(&pb.WatchCreateRequest{Key: []byte("k"), RangeEnd: []byte("l"), WatchId: 5}, eRevs[0], zRevs[0])
	w.exchange(2, false) // created, then compacted
	w.create(&pb.WatchCreateRequest{Key: []byte("x"), WatchId: 5}, 0, 0)
	w.exchange(1, false) // the ID is taken
	w.cancel(5)
	w.exchange(1, false)
	w.create(&pb.WatchCreateRequest{Key: []byte("k"), RangeEnd: []byte("l"), WatchId: 5}, eRevs[3], compactRev)
	w.exchange(2, false) // created, then k3 and k4
}

// TestWatchListThenWatchLosesNothing: a Range taken while writers run,
// then a watch from its revision + 1, replays to exactly the final state:
// no event lost, none repeated, revisions never going back.
func TestWatchListThenWatchLosesNothing(t *testing.T) {
	c := dialWatchZK(t, nil)
	ctx := context.Background()
	const writers, ops, keys = 4, 120, 16
	key := func(r *rand.Rand) string { return fmt.Sprintf("lw/%02d", r.IntN(keys)) }
	var wg sync.WaitGroup
	started := make(chan struct{})
	start := sync.OnceFunc(func() { close(started) })
	for i := range writers {
		wg.Go(func() {
			defer start()
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for n := range ops {
				var err error
				if r.IntN(4) == 0 {
					_, err = c.DeleteRange(ctx, del(key(r)))
				} else {
					_, err = c.Put(ctx, put(key(r), fmt.Sprintf("w%d-%d", i, n)))
				}
				if err != nil {
					t.Error(err)
					return
				}
				if i == 0 && n == ops/4 {
					start()
				}
			}
		})
	}
	<-started
	list, err := c.Range(ctx, &pb.RangeRequest{Key: []byte("lw/"), RangeEnd: []byte("lw0")})
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]*mvccpb.KeyValue{}
	for _, kv := range list.Kvs {
		state[string(kv.Key)] = kv
	}
	sctx, cancel := context.WithTimeout(ctx, 2*harness.DefaultPatience)
	fed := make(chan struct{})
	defer func() {
		cancel()
		<-fed // nothing reports after the test
	}()
	s, err := c.Watch(sctx)
	mustDo(t, err)
	mustDo(t, s.Create(&pb.WatchCreateRequest{Key: []byte("lw/"), RangeEnd: []byte("lw0"), StartRevision: list.Header.Revision + 1}))

	// Once the writers are done, one more write (the watch has then
	// something to sync to, even if the range came last), then the
	// progress request that covers the final state: its answer ends the
	// replay.
	final := make(chan *pb.RangeResponse, 1)
	go func() {
		defer close(fed)
		defer close(final)
		wg.Wait()
		_, err := c.Put(ctx, put("lw/end", "end"))
		var f *pb.RangeResponse
		if err == nil {
			f, err = c.Range(ctx, &pb.RangeRequest{Key: []byte("lw/"), RangeEnd: []byte("lw0")})
		}
		if err == nil {
			err = harness.Await(harness.DefaultPatience, func() error {
				if h := c.hist.revision(); h < f.Header.Revision && sctx.Err() == nil {
					return fmt.Errorf("history at %d, final range at %d (listed at %d)", h, f.Header.Revision, list.Header.Revision)
				}
				return nil
			})
		}
		if err != nil {
			t.Error(err)
			cancel()
		}
		if sctx.Err() != nil {
			return
		}
		final <- f
		if err := s.RequestProgress(); err != nil {
			t.Error(err)
		}
	}()

	if r := recv(t, s); !r.Created || r.Canceled {
		t.Fatalf("first answer %v, want created", r)
	}
	last := list.Header.Revision
	seen := map[string]bool{}
	for {
		r := recv(t, s)
		if r.WatchId == invalidWatchID {
			f, ok := <-final
			if !ok {
				return
			}
			if r.Header.Revision < f.Header.Revision {
				t.Fatalf("progress at %d, before the final range at %d", r.Header.Revision, f.Header.Revision)
			}
			compareState(t, state, f.Kvs)
			return
		}
		for _, ev := range r.Events {
			rev := ev.Kv.ModRevision
			id := fmt.Sprintf("%v %q %d", ev.Type, ev.Kv.Key, rev)
			switch {
			case rev < last:
				t.Fatalf("%s after revision %d", id, last)
			case seen[id]:
				t.Fatalf("%s twice", id)
			}
			last, seen[id] = rev, true
			if ev.Type == mvccpb.DELETE {
				delete(state, string(ev.Kv.Key))
			} else {
				state[string(ev.Kv.Key)] = ev.Kv
			}
		}
	}
}

func compareState(t *testing.T, replayed map[string]*mvccpb.KeyValue, want []*mvccpb.KeyValue) {
	t.Helper()
	if len(replayed) != len(want) {
		t.Errorf("replay has %d keys, the final range %d", len(replayed), len(want))
	}
	for _, kv := range want {
		got := replayed[string(kv.Key)]
		if got == nil {
			t.Errorf("%q: missing from the replay", kv.Key)
			continue
		}
		if string(got.Value) != string(kv.Value) || got.CreateRevision != kv.CreateRevision ||
			got.ModRevision != kv.ModRevision || got.Version != kv.Version {
			t.Errorf("%q: replay %v, final range %v", kv.Key, got, kv)
		}
	}
}

package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// zkWatcher records what one watcher of the fleet received.
type zkWatcher struct {
	herald string
	mu     sync.Mutex
	events []*mvccpb.Event
	errs   []string
}

func (w *zkWatcher) run(wch clientv3.WatchChan) {
	for resp := range wch {
		w.mu.Lock()
		if err := resp.Err(); err != nil {
			w.errs = append(w.errs, err.Error())
		}
		w.events = append(w.events, resp.Events...)
		w.mu.Unlock()
	}
}

func (w *zkWatcher) seen() []*mvccpb.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events)
}

// TestZooKeeperFanoutLeaderKilled: a fleet of three heralds on a
// three-server ZooKeeper ensemble fans out /services/ while a writer puts
// and deletes keys and the ZooKeeper leader is killed and restarted. Every
// herald's watcher then shows events in revision order, none twice, each
// with the prev_kv the one before it left, and replaying them gives the
// store's final state key for key (value, version, create and mod
// revision). ZooKeeper's one-shot watches may collapse several changes to
// a key into its last, and two heralds' followers may collapse them
// differently (README, ZooKeeper upstream): the check is against the final
// state, not a write log, and watchers of different heralds may differ.
func TestZooKeeperFanoutLeaderKilled(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	z := harness.StartZooKeeper(t, harness.ZooKeeperOptions{Servers: 3})
	url := z.URL(fmt.Sprintf("/fanout-%d", zkChroots.Add(1)))
	fleet := startFleetWith(t, 3, func(int) []string { return []string{url} })
	admin := harness.Client(t, fleet[0].Endpoint())
	start := mustPut(t, admin, "/services/k0", "seed").Header.Revision

	ctx, stopWatches := context.WithCancel(context.Background())
	defer stopWatches()
	var watchers []*zkWatcher
	for _, h := range fleet {
		w := &zkWatcher{herald: h.name}
		watchers = append(watchers, w)
		cli := harness.Client(t, h.Endpoint())
		go w.run(cli.Watch(ctx, fanoutPrefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(start)))
	}

	wctx, stopWriter := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writeErrs []error
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
		for i := 0; wctx.Err() == nil; i++ {
			key := fmt.Sprintf("/services/k%d", r.IntN(8))
			var err error
			if r.IntN(4) == 0 {
				_, err = admin.Delete(wctx, key)
			} else {
				_, err = admin.Put(wctx, key, fmt.Sprint(i))
			}
			if err != nil && wctx.Err() == nil && len(writeErrs) < 5 {
				writeErrs = append(writeErrs, err) // a write lost with the leader: retried by the next
			}
		}
	}()
	time.Sleep(3 * time.Second)
	leader := z.Leader(t)
	t.Logf("kill -9 ZooKeeper leader %d", leader.ID())
	leader.Kill()
	time.Sleep(3 * time.Second)
	leader.Restart()
	time.Sleep(3 * time.Second)
	stopWriter()
	wg.Wait()
	t.Logf("writes that failed around the kill: %v", writeErrs)

	end := mustPut(t, admin, "/services/~end", "end").Header.Revision
	reached := func(w *zkWatcher) bool {
		evs := w.seen()
		return len(evs) > 0 && evs[len(evs)-1].Kv.ModRevision >= end
	}
	if err := harness.Await(fleetPatience, func() error {
		for _, w := range watchers {
			if !reached(w) {
				return fmt.Errorf("%s's watcher has not seen the end marker (revision %d)", w.herald, end)
			}
		}
		return nil
	}); err != nil {
		for _, w := range watchers {
			evs := w.seen()
			last := "none"
			if len(evs) > 0 {
				last = describeEvent(evs[len(evs)-1], false)
			}
			t.Logf("%s's watcher: %d events, the last %s, errors %q", w.herald, len(evs), last, w.errs)
		}
		t.Fatalf("%v; %s", err, fleetMetrics(fleet))
	}
	final, err := admin.Get(ctxT(t), fanoutPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var reference []string
	differ := 0
	for i, w := range watchers {
		got := checkReplay(t, w, start, final.Kvs)
		if i == 0 {
			reference = got
			continue
		}
		if !slices.Equal(got, reference) {
			differ++
			d := firstDiff(got, reference)
			t.Logf("%s's watcher differs from %s's from event %d (%s vs %s): each herald's ZooKeeper follower may collapse changes its own way",
				w.herald, watchers[0].herald, d, at(got, d), at(reference, d))
		}
	}
	t.Logf("%d events for %s's watcher; %d of %d other watchers saw another valid history", len(reference), watchers[0].herald, differ, len(watchers)-1)
}

// checkReplay checks one watcher's events (order, no repeat, prev_kv) and
// that replaying them from the seed gives want; it returns the events
// described, for comparing watchers with each other.
func checkReplay(t *testing.T, w *zkWatcher, start int64, want []*mvccpb.KeyValue) []string {
	t.Helper()
	if len(w.errs) > 0 {
		t.Errorf("%s's watcher: errors %q", w.herald, w.errs)
	}
	state := map[string]*mvccpb.KeyValue{}
	var out []string
	var last int64
	for _, ev := range w.seen() {
		k := string(ev.Kv.Key)
		if ev.Kv.ModRevision < last {
			t.Errorf("%s: %v %q at %d after %d", w.herald, ev.Type, k, ev.Kv.ModRevision, last)
		}
		last = ev.Kv.ModRevision
		prev := state[k]
		switch {
		case ev.Kv.ModRevision == start:
			// The seed itself: its watcher starts there.
		case prev == nil && ev.PrevKv != nil, prev != nil && (ev.PrevKv == nil || ev.PrevKv.ModRevision != prev.ModRevision):
			t.Errorf("%s: %v %q at %d has prev_kv %v, the last event of the key left %v", w.herald, ev.Type, k, ev.Kv.ModRevision, ev.PrevKv, prev)
		}
		if ev.Type == mvccpb.DELETE {
			if prev == nil {
				t.Errorf("%s: DELETE %q at %d of a key not there", w.herald, k, ev.Kv.ModRevision)
			}
			delete(state, k)
		} else {
			if prev != nil && prev.ModRevision >= ev.Kv.ModRevision {
				t.Errorf("%s: PUT %q at %d repeats or precedes %d", w.herald, k, ev.Kv.ModRevision, prev.ModRevision)
			}
			state[k] = ev.Kv
		}
		out = append(out, describeEvent(ev, true))
	}
	for _, kv := range want {
		g := state[string(kv.Key)]
		if g == nil || string(g.Value) != string(kv.Value) || g.ModRevision != kv.ModRevision || g.CreateRevision != kv.CreateRevision || g.Version != kv.Version {
			t.Errorf("%s: key %q replays as %v, the store has %v", w.herald, kv.Key, g, kv)
		}
		delete(state, string(kv.Key))
	}
	for k := range state {
		t.Errorf("%s: key %q replays as present, the store does not have it", w.herald, k)
	}
	return out
}

package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The mass-failure workload: a rack of leases, one key each, that all stop
// keeping alive at one instant.
const (
	defaultMFLeases = 5000
	defaultMFConns  = 100
	mfTTL           = 3 * time.Second
	mfSettle        = mfTTL + time.Second
	mfPrefix        = "/bench/mass-failure/"
	mfParallel      = 64
	// mfWait bounds the wait for the DELETEs after the stop; what has not
	// arrived by then is reported as missing.
	mfWait = 4*mfTTL + 30*time.Second
)

// BenchmarkMassFailure measures the time from the instant a rack of leases
// stops keeping alive to each DELETE a watcher on their prefix receives,
// direct, through etcd's grpc-proxy and through herald (the watcher goes
// through the same path as the clients).
func BenchmarkMassFailure(b *testing.B) {
	skipUnlessEnabled(b)
	paths := benchPaths(b)
	n := envInt(b, mfLeasesEnv, defaultMFLeases)
	conns := envInt(b, mfConnsEnv, defaultMFConns)
	root := harness.RepoRoot(b)
	harness.Binaries(b)
	treeAtBuild(root)
	printRunInfo(os.Stdout, "BenchmarkMassFailure", root)

	t := newTable("path", "leases", "DELETEs", "first", "p50", "p99", "last", "last − TTL",
		"at etcd: first / p50 / last", "DELETEs before stop", "lost before stop")
	for _, p := range paths {
		r := runMassFailure(b, p, n, conns)
		t.add(p, n, fmt.Sprintf("%d/%d", r.deletes.n, n), secs(r.deletes.first), secs(r.deletes.p50),
			secs(r.deletes.p99), secs(r.deletes.last), secs(r.deletes.last-mfTTL),
			fmt.Sprintf("%s / %s / %s (%d)", secs(r.atEtcd.first), secs(r.atEtcd.p50), secs(r.atEtcd.last), r.atEtcd.n),
			r.early, r.lostBeforeStop)
		if r.deletes.n < n {
			fmt.Printf("%s: only %d of %d DELETEs arrived within %v of the stop\n", p, r.deletes.n, n, mfWait)
		}
	}
	fmt.Printf("%d leases of TTL %v over %d connections, one key each under %s, kept alive every TTL/3; "+
		"a watcher on the prefix through the same path; fresh etcd (and proxy) per row. All keepalives stop at once "+
		"(the streams stay open: the nodes go silent); times are from the last keepalive sent to each DELETE's arrival "+
		"at the watcher; \"at etcd\" is a second watcher straight at etcd (the same one as the path's for direct).\n\n", n, mfTTL, conns, mfPrefix)
	t.write(os.Stdout)
	fmt.Println()
}

type mfResult struct {
	deletes        distribution // at the watcher on the path
	atEtcd         distribution // at a watcher straight at etcd
	early          int          // DELETEs that arrived while the leases were still kept alive
	lostBeforeStop int64        // leases answered TTL ≤ 0 while kept alive
}

func runMassFailure(b *testing.B, p pathKind, n, conns int) mfResult {
	b.Helper()
	st := startStack(b, p)
	defer st.stop()
	cli, err := newClient(st.front.endpoint)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	fleet, err := dialFleet([][]string{{st.front.endpoint}}, conns, mfTTL)
	if err != nil {
		b.Fatalf("%s: %v", p, err)
	}
	defer fleet.close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g := fleet.grant(ctx, n, mfParallel)
	if g.failed > 0 {
		b.Fatalf("%s: %d of %d grants failed, first: %v", p, g.failed, n, g.firstErr)
	}
	if err := fleet.putLeasedKeys(ctx, mfPrefix, g.ids, mfParallel); err != nil {
		b.Fatalf("%s: %v", p, err)
	}
	w, err := watchDeletes(ctx, cli, mfPrefix, n)
	if err != nil {
		b.Fatalf("%s: %v", p, err)
	}
	// Through a proxy, a second watcher straight at etcd separates when etcd
	// deleted the keys from how long the proxy took to deliver the DELETEs.
	upstream := w
	if p != pathDirect {
		direct, err := newClient(st.etcd.Endpoints()[0])
		if err != nil {
			b.Fatal(err)
		}
		defer direct.Close()
		if upstream, err = watchDeletes(ctx, direct, mfPrefix, n); err != nil {
			b.Fatalf("%s: upstream: %v", p, err)
		}
	}
	time.Sleep(mfSettle)

	r := mfResult{lostBeforeStop: fleet.counters.lost.Load()}
	stop := fleet.stopKeepAlives()
	deadline := stop.Add(mfWait)
	r.deletes, r.early = sinceStop(w.wait(deadline), stop)
	r.atEtcd = r.deletes
	if upstream != w {
		r.atEtcd, _ = sinceStop(upstream.wait(deadline), stop)
	}
	return r
}

// sinceStop returns the distribution of the arrivals after stop, measured
// from stop, and the number of arrivals before it.
func sinceStop(arrivals []time.Time, stop time.Time) (distribution, int) {
	var since []time.Duration
	early := 0
	for _, at := range arrivals {
		if at.Before(stop) {
			early++
			continue
		}
		since = append(since, at.Sub(stop))
	}
	return summarise(since), early
}

// deleteWatcher records when each key's first DELETE arrives.
type deleteWatcher struct {
	want   int
	cancel context.CancelFunc
	done   chan struct{}
	first  map[string]time.Time
}

// watchDeletes starts a watch on prefix and returns once etcd (or the proxy)
// has confirmed it.
func watchDeletes(ctx context.Context, cli *clientv3.Client, prefix string, want int) (*deleteWatcher, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.Background()))
	ch := cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	select {
	case resp, ok := <-ch:
		if !ok || !resp.Created {
			cancel()
			return nil, fmt.Errorf("bench: watch %s: not created (%v)", prefix, resp.Err())
		}
	case <-ctx.Done():
		cancel()
		return nil, fmt.Errorf("bench: watch %s: %w", prefix, ctx.Err())
	}
	w := &deleteWatcher{want: want, cancel: cancel, done: make(chan struct{}), first: map[string]time.Time{}}
	go func() {
		defer close(w.done)
		for resp := range ch {
			at := time.Now()
			for _, ev := range resp.Events {
				if ev.Type != clientv3.EventTypeDelete {
					continue
				}
				if _, seen := w.first[string(ev.Kv.Key)]; !seen {
					w.first[string(ev.Kv.Key)] = at
				}
			}
			if len(w.first) >= w.want {
				return
			}
		}
	}()
	return w, nil
}

// wait returns the arrival times once every key's DELETE has arrived or at
// deadline, whichever is first.
func (w *deleteWatcher) wait(deadline time.Time) []time.Time {
	select {
	case <-w.done:
	case <-time.After(time.Until(deadline)):
	}
	w.cancel()
	<-w.done
	out := make([]time.Time, 0, len(w.first))
	for _, at := range w.first {
		out = append(out, at)
	}
	return out
}

package tests

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// failoverOpTimeout bounds one Put of the writers; a Put that takes longer
// counts as failed (the client retries with the next one).
const failoverOpTimeout = 3 * time.Second

// resumeOps is how many acknowledged writes after a kill show that a writer
// has resumed.
const resumeOps = 20

// writer puts increasing keys in a loop and remembers which were
// acknowledged.
type writer struct {
	name string
	cli  *clientv3.Client

	mu     sync.Mutex
	acked  map[string]string
	failed int
	errs   []string
}

func (w *writer) run(ctx context.Context, prefix string) {
	for i := 0; ctx.Err() == nil; i++ {
		k, v := fmt.Sprintf("%s%08d", prefix, i), strconv.Itoa(i)
		opCtx, cancel := context.WithTimeout(ctx, failoverOpTimeout)
		_, err := w.cli.Put(opCtx, k, v)
		if err == nil {
			_, err = w.cli.Get(opCtx, k)
		}
		cancel()
		w.mu.Lock()
		switch {
		case err == nil:
			w.acked[k] = v
		case ctx.Err() == nil:
			w.failed++
			if len(w.errs) < 5 {
				w.errs = append(w.errs, err.Error())
			}
		}
		w.mu.Unlock()
	}
}

func (w *writer) counts() (acked, failed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked), w.failed
}

// waitProgress waits until the writer has n more acknowledged writes than it
// had when called.
func (w *writer) waitProgress(t *testing.T, n int, why string) {
	t.Helper()
	start, _ := w.counts()
	deadline := time.Now().Add(90 * time.Second)
	for {
		acked, failed := w.counts()
		if acked >= start+n {
			return
		}
		if time.Now().After(deadline) {
			w.mu.Lock()
			errs := slices.Clone(w.errs)
			w.mu.Unlock()
			t.Fatalf("%s writer did not resume %s: %d acked, %d failed; first errors %q", w.name, why, acked-start, failed, errs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailover: a 3-member etcd, a herald with all three endpoints, and a
// writer through herald next to a writer connected directly to the three
// members. The member herald is connected to (the leader if herald talks
// to it) is killed; later, after it is back, the first endpoint is killed.
// Both writers must resume and no acknowledged write may be lost. The failed
// operations of both are logged: herald should cost no more than the
// direct client.
func TestFailover(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{Members: 3})
	via := heraldOver(t, c)
	heraldW := &writer{name: via.name, cli: harness.Client(t, via.endpoints...), acked: map[string]string{}}
	directW := &writer{name: "direct", cli: harness.Client(t, c.Endpoints()...), acked: map[string]string{}}
	admin := harness.Client(t, c.Endpoints()...)

	// A watcher through herald and one directly, from before the first
	// write: each must see every acknowledged write of its writer once, in
	// revision order, whatever the kills.
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	heraldWatch := newEventLog(wctx, heraldW.cli, "failover/"+heraldW.name+"/")
	directWatch := newEventLog(wctx, directW.cli, "failover/"+directW.name+"/")

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range []*writer{heraldW, directW} {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(ctx, "failover/"+w.name+"/") }()
	}
	defer func() { stop(); wg.Wait() }()
	heraldW.waitProgress(t, resumeOps, "before any kill")
	directW.waitProgress(t, resumeOps, "before any kill")

	victim := connectedMember(t, c, via, leaderIndex(t, admin, c))
	t.Logf("killing member %s (pid %d)", c.Member(victim).Name(), c.Member(victim).PID())
	c.Member(victim).Kill()
	heraldW.waitProgress(t, resumeOps, "after the first kill")
	directW.waitProgress(t, resumeOps, "after the first kill")
	c.Member(victim).Restart()

	t.Logf("killing the first endpoint, member %s (pid %d)", c.Member(0).Name(), c.Member(0).PID())
	c.Member(0).Kill()
	heraldW.waitProgress(t, resumeOps, "after the second kill")
	directW.waitProgress(t, resumeOps, "after the second kill")
	stop()
	wg.Wait()

	for _, pair := range []struct {
		w   *writer
		log *eventLog
	}{{heraldW, heraldWatch}, {directW, directWatch}} {
		pair.log.check(t, pair.w)
	}

	for _, w := range []*writer{heraldW, directW} {
		acked, failed := w.counts()
		t.Logf("%s client: %d acknowledged writes, %d failed operations (first errors %q)", w.name, acked, failed, w.errs)
		lost := 0
		for k, v := range w.acked {
			resp, err := admin.Get(ctxT(t), k)
			if err != nil {
				t.Fatalf("reading back %s: %v", k, err)
			}
			if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != v {
				lost++
				if lost <= 5 {
					t.Errorf("%s client: acknowledged write %s=%s reads back as %v", w.name, k, v, resp.Kvs)
				}
			}
		}
		if lost > 0 {
			t.Errorf("%s client: %d of %d acknowledged writes lost", w.name, lost, acked)
		}
	}
	_, hf := heraldW.counts()
	_, df := directW.counts()
	if hf > df {
		t.Logf("note: herald cost %d failed operations, the direct client %d", hf, df)
	}
}

// leaderIndex returns the index of the cluster's current leader.
func leaderIndex(t *testing.T, admin *clientv3.Client, c *harness.EtcdCluster) int {
	t.Helper()
	for i := range c.Size() {
		st, err := admin.Status(ctxT(t), c.Member(i).ClientURL())
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatalf("no member says it is the leader")
	return -1
}

// connectedMember returns the member to kill: prefer, if herald holds a
// connection to it, and otherwise a member herald holds a connection to
// (read from /proc). Without herald it is prefer.
func connectedMember(t *testing.T, c *harness.EtcdCluster, via target, prefer int) int {
	t.Helper()
	if via.herald == nil {
		return prefer
	}
	ports, err := harness.RemotePorts(via.herald.PID())
	if err != nil {
		t.Logf("cannot read herald's connections (%v); killing the leader", err)
		return prefer
	}
	var connected []int
	for i := range c.Size() {
		if slices.Contains(ports, c.Member(i).ClientPort()) {
			connected = append(connected, i)
		}
	}
	t.Logf("herald is connected to members %v; the leader is %d", connected, prefer)
	if len(connected) == 0 {
		t.Fatalf("herald holds no connection to any member (remote ports %v)", ports)
	}
	if slices.Contains(connected, prefer) {
		return prefer
	}
	return connected[0]
}

// eventLog collects the PUT events of one prefix from a watch.
type eventLog struct {
	mu     sync.Mutex
	events []*clientv3.Event
	errs   []string
}

func newEventLog(ctx context.Context, cli *clientv3.Client, prefix string) *eventLog {
	l := &eventLog{}
	wch := cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	created := make(chan struct{})
	go func() {
		first := true
		for resp := range wch {
			l.mu.Lock()
			if err := resp.Err(); err != nil {
				l.errs = append(l.errs, err.Error())
			}
			l.events = append(l.events, resp.Events...)
			l.mu.Unlock()
			if first {
				close(created)
				first = false
			}
		}
	}()
	<-created
	return l
}

// check waits until the log holds a sentinel written after the writer
// stopped, then expects every acknowledged write exactly once and the
// events in strictly increasing revisions.
func (l *eventLog) check(t *testing.T, w *writer) {
	t.Helper()
	sentinel := "failover/" + w.name + "/~end"
	put := mustPut(t, w.cli, sentinel, "end")
	deadline := time.Now().Add(60 * time.Second)
	for {
		l.mu.Lock()
		n := len(l.events)
		done := n > 0 && string(l.events[n-1].Kv.Key) == sentinel
		l.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s watcher: no event for %s (revision %d) within 60s; %d events, errors %q", w.name, sentinel, put.Header.Revision, n, l.errs)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]int{}
	var lastRev int64
	for _, ev := range l.events {
		if ev.Kv.ModRevision <= lastRev {
			t.Errorf("%s watcher: event %s at revision %d after revision %d (duplicate or reordered)", w.name, ev.Kv.Key, ev.Kv.ModRevision, lastRev)
		}
		lastRev = ev.Kv.ModRevision
		seen[string(ev.Kv.Key)]++
	}
	missing := 0
	for k := range w.acked {
		if seen[k] != 1 {
			missing++
			if missing <= 5 {
				t.Errorf("%s watcher: acknowledged write %s seen %d times, want once", w.name, k, seen[k])
			}
		}
	}
	t.Logf("%s watcher: %d events, %d acknowledged writes, %d missing or repeated, stream errors %q", w.name, len(l.events), len(w.acked), missing, l.errs)
}

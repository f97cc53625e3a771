package tests

import (
	"context"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// TestSIGTERMMovesStreamsToTheFleet: a client lists both heralds of a
// fleet and holds a watch and a keepalive through them while a writer puts
// keys directly into etcd. Each herald in turn is stopped with SIGTERM
// (the first restarted before the second stops). A stopping herald
// ends its streams with Unavailable, so the client reopens them on the
// other herald: the watch sees every write exactly once, in order, and the
// lease and its key outlive both stops.
func TestSIGTERMMovesStreamsToTheFleet(t *testing.T) {
	skipIfShort(t)
	etcd := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 2, etcd.Endpoints())
	cli := harness.Client(t, fleet[0].Endpoint(), fleet[1].Endpoint())
	w := &writer{name: "sigterm", cli: harness.Client(t, etcd.Endpoints()...), acked: map[string]string{}}

	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	events := newEventLog(wctx, cli, "failover/"+w.name+"/")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	grant, err := cli.Grant(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/sigterm/node", "up", clientv3.WithLease(grant.ID)); err != nil {
		t.Fatal(err)
	}
	kaCtx, kaCancel := context.WithCancel(ctx)
	defer kaCancel()
	ka, err := cli.KeepAlive(kaCtx, grant.ID)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range ka { // clientv3 closes it when the lease is lost
		}
	}()

	wrCtx, stopWriting := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wrCtx, "failover/"+w.name+"/") }()
	defer func() { stopWriting(); wg.Wait() }()
	w.waitProgress(t, resumeOps, "before any stop")

	// h1 first: restarted, it joins h0 again through its --join (h0, the
	// seed, has none).
	for i, h := range []*fleetHerald{fleet[1], fleet[0]} {
		t.Logf("SIGTERM to %s (pid %d)", h.name, h.PID())
		h.Stop()
		if code := h.ExitCode(); code != 0 {
			t.Errorf("%s exited with %d after SIGTERM, want 0", h.name, code)
		}
		w.waitProgress(t, resumeOps, "after stopping "+h.name)
		if i == 0 {
			h.Restart()
			waitFleetFormed(t, fleet)
		}
	}
	stopWriting()
	wg.Wait()
	events.check(t, w)

	ttl, err := cli.TimeToLive(ctx, grant.ID)
	if err != nil || ttl.TTL <= 0 {
		t.Fatalf("lease after both stops: %v %v; want it alive", ttl, err)
	}
	got, err := cli.Get(ctx, "/sigterm/node")
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("the lease's key after both stops: %v %v", got, err)
	}
}

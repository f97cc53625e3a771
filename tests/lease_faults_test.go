package tests

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/heraldproj/herald/tests/harness"
)

// Short carriers and sessions, so that the fault tests see carriers expire
// within seconds: a lease of TTL 2 hangs on a carrier of 4 s (the shortest
// that outlives a 2 s session long enough to be adopted).
var shortCarriers = []string{"--carrier-ttl", "4", "--fleet-session-ttl", "2"}

// kaAnswer is one keepalive answer received on a raw stream.
type kaAnswer struct {
	at  time.Time
	ttl int64
}

// rawKeepAlives keeps lease id alive through endpoint every 300 ms on a raw
// gRPC stream (no client logic: every answer is recorded as it comes) until
// ctx ends; answers returns what came back so far.
func rawKeepAlives(t *testing.T, ctx context.Context, endpoint string, id int64) (answers func() []kaAnswer) {
	t.Helper()
	cli := harness.Client(t, endpoint)
	ka, err := pb.NewLeaseClient(cli.ActiveConnection()).LeaseKeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []kaAnswer
		wg  sync.WaitGroup
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			resp, err := ka.Recv()
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, kaAnswer{at: time.Now(), ttl: resp.TTL})
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(300 * time.Millisecond)
		defer t.Stop()
		for {
			if ka.Send(&pb.LeaseKeepAliveRequest{ID: id}) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	t.Cleanup(wg.Wait)
	return func() []kaAnswer {
		mu.Lock()
		defer mu.Unlock()
		return append([]kaAnswer(nil), got...)
	}
}

// TestPausedHeraldNeverAnswersStale: a herald stopped with SIGSTOP for
// longer than its carriers' TTL comes back to keepalives queued for a lease
// whose carrier etcd has meanwhile expired (its key is gone). No keepalive
// is answered as alive after the resume; the client learns the loss (TTL 0)
// as soon as herald has asked etcd.
func TestPausedHeraldNeverAnswersStale(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: c.Endpoints(), ExtraArgs: shortCarriers})
	cli := harness.Client(t, h.Endpoint())
	direct := harness.Client(t, c.Endpoints()...)
	g, err := cli.Grant(ctxT(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctxT(t), "paused/node", "up", clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	answers := rawKeepAlives(t, ctx, h.Endpoint(), int64(g.ID))
	waitUntil(t, "a keepalive answered alive", time.Minute, func() bool { a := answers(); return len(a) > 0 && a[len(a)-1].ttl > 0 })

	h.Signal(syscall.SIGSTOP)
	waitUntil(t, "etcd to expire the paused herald's carrier (the key gone)", time.Minute, func() bool {
		got, err := direct.Get(ctxT(t), "paused/node")
		return err == nil && len(got.Kvs) == 0
	})
	time.Sleep(time.Second) // keepalives queue up meanwhile
	resumed := time.Now()
	h.Signal(syscall.SIGCONT)
	waitUntil(t, "the lease's loss answered (TTL 0)", time.Minute, func() bool {
		for _, a := range answers() {
			if a.at.After(resumed) && a.ttl <= 0 {
				return true
			}
		}
		return false
	})
	for _, a := range answers() {
		if a.at.After(resumed) && a.ttl > 0 {
			t.Fatalf("answered alive (TTL %d) %v after the resume, though etcd had expired the carrier", a.ttl, a.at.Sub(resumed))
		}
	}
	if ttl, err := cli.TimeToLive(ctxT(t), g.ID); err != nil || ttl.TTL != -1 {
		t.Fatalf("TimeToLive after the resume: %s, %v; want -1", describeTTL(ttl), err)
	}
}

// TestRestartAfterCarrierTTL: a Mutex holder's herald is killed and stays
// down until etcd has expired its carrier; a second client then takes the
// Mutex. The first holder's session ends (its keepalives unanswered) before
// the second holder gets the lock: a carrier outlives its leases' TTL. After
// the restart herald brings back none of the dead leases.
func TestRestartAfterCarrierTTL(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: c.Endpoints(), ExtraArgs: shortCarriers})
	first := harness.Client(t, h.Endpoint())
	second := harness.Client(t, c.Endpoints()...)
	const ttl = 5 // a carrier of 8 s: 4 × 2, at least 1.5 × 5
	s1, err := concurrency.NewSession(first, concurrency.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	m1 := concurrency.NewMutex(s1, "/restart-mutex")
	if err := m1.Lock(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	h.Kill()
	var lost time.Time
	select {
	case <-s1.Done():
		lost = time.Now()
	case <-time.After(time.Minute):
		t.Fatal("the first holder's session never ended with its herald dead")
	}
	s2, err := concurrency.NewSession(second, concurrency.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	m2 := concurrency.NewMutex(s2, "/restart-mutex")
	if err := m2.Lock(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	acquired := time.Now()
	if !acquired.After(lost) {
		t.Fatalf("two Mutex holders: the second acquired at %v, the first learnt its loss at %v", acquired, lost)
	}
	t.Logf("the first holder learnt its loss, then %v later the second acquired the Mutex", acquired.Sub(lost))

	h.Restart()
	if ttl, err := first.TimeToLive(ctxT(t), s1.Lease()); err != nil || ttl.TTL != -1 {
		t.Fatalf("after the restart the dead lease is back: %s, %v", describeTTL(ttl), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	answers := rawKeepAlives(t, ctx, h.Endpoint(), int64(s1.Lease()))
	waitUntil(t, "a keepalive of the dead lease answered", time.Minute, func() bool { return len(answers()) > 0 })
	for _, a := range answers() {
		if a.ttl > 0 {
			t.Fatalf("a keepalive of the dead lease was answered alive (TTL %d) after the restart", a.ttl)
		}
	}
	leases, err := first.Leases(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Leases {
		if l.ID == s1.Lease() {
			t.Fatalf("Leases lists the dead lease %x after the restart", l.ID)
		}
	}
}

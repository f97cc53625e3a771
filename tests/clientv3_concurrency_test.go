package tests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/heraldproj/herald/tests/harness"
)

// TestClientV3Concurrency runs clientv3's concurrency package through herald:
// Session, Election, Mutex under contention, and STM.
func TestClientV3Concurrency(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	tgt := heraldTarget(t, harness.EtcdOptions{})
	cli := harness.Client(t, tgt.endpoints...)
	other := harness.Client(t, tgt.endpoints...)
	t.Run("Session", func(t *testing.T) { testSession(t, cli) })
	t.Run("Election", func(t *testing.T) { testElection(t, cli, other) })
	t.Run("Mutex", func(t *testing.T) { testMutex(t, cli, other) })
	t.Run("STM", func(t *testing.T) { testSTM(t, cli, other) })
}

func newConcSession(t *testing.T, cli *clientv3.Client) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testSession(t *testing.T, cli *clientv3.Client) {
	s := newConcSession(t, cli)
	ttl, err := cli.TimeToLive(ctxT(t), s.Lease())
	if err != nil || ttl.GrantedTTL != 10 {
		t.Fatalf("session lease TimeToLive = %+v, %v", ttl, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Session.Close: %v", err)
	}
	<-s.Done()
	ttl, err = cli.TimeToLive(ctxT(t), s.Lease())
	if err != nil || ttl.TTL != -1 {
		t.Errorf("lease after Session.Close: %+v, %v; want revoked (TTL -1)", ttl, err)
	}
}

func testElection(t *testing.T, cli, other *clientv3.Client) {
	const name = "election/"
	e1 := concurrency.NewElection(newConcSession(t, cli), name)
	e2 := concurrency.NewElection(newConcSession(t, other), name)
	observer := concurrency.NewElection(newConcSession(t, other), name)

	if err := e1.Campaign(ctxT(t), "v1"); err != nil {
		t.Fatalf("Campaign v1: %v", err)
	}
	octx, ocancel := context.WithCancel(ctxT(t))
	defer ocancel()
	observed := observer.Observe(octx)
	expectLeader := func(want string) {
		t.Helper()
		resp, ok := <-observed
		if !ok || string(resp.Kvs[0].Value) != want {
			t.Fatalf("Observe: %v (open %v), want leader value %q", resp, ok, want)
		}
	}
	expectLeader("v1")

	won := make(chan error, 1)
	go func() { won <- e2.Campaign(ctxT(t), "v2") }()
	// e2 waits for e1: its key exists but it is not the leader.
	leader, err := e1.Leader(ctxT(t))
	if err != nil || string(leader.Kvs[0].Value) != "v1" {
		t.Fatalf("Leader = %v, %v; want v1", leader, err)
	}
	select {
	case err := <-won:
		t.Fatalf("second candidate won while the first leads (err %v)", err)
	default:
	}
	if err := e1.Proclaim(ctxT(t), "v1b"); err != nil {
		t.Fatalf("Proclaim: %v", err)
	}
	expectLeader("v1b")
	if err := e1.Resign(ctxT(t)); err != nil {
		t.Fatalf("Resign: %v", err)
	}
	if err := <-won; err != nil {
		t.Fatalf("Campaign v2: %v", err)
	}
	expectLeader("v2")
	if err := e2.Resign(ctxT(t)); err != nil {
		t.Fatalf("Resign v2: %v", err)
	}
	if _, err := e1.Leader(ctxT(t)); !errors.Is(err, concurrency.ErrElectionNoLeader) {
		t.Errorf("Leader with no candidate: %v, want %v", err, concurrency.ErrElectionNoLeader)
	}
}

func testMutex(t *testing.T, cli, other *clientv3.Client) {
	const lockName, counter = "mutex/lock", "mutex/counter"
	const workers, rounds = 4, 5
	mustPut(t, cli, counter, "0")

	// TryLock fails while another session holds the lock.
	holder := concurrency.NewMutex(newConcSession(t, cli), lockName)
	if err := holder.Lock(ctxT(t)); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := concurrency.NewMutex(newConcSession(t, other), lockName).TryLock(ctxT(t)); !errors.Is(err, concurrency.ErrLocked) {
		t.Errorf("TryLock of a held lock: %v, want %v", err, concurrency.ErrLocked)
	}
	if err := holder.Unlock(ctxT(t)); err != nil {
		t.Fatalf("Unlock: %v", err)
	}

	// Contention: each worker increments the counter with a plain
	// read-modify-write, safe only if the lock excludes the others.
	var inside atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		c := cli
		if w%2 == 1 {
			c = other
		}
		m := concurrency.NewMutex(newConcSession(t, c), lockName)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t)
			for range rounds {
				if err := m.Lock(ctx); err != nil {
					errs <- fmt.Errorf("worker %d Lock: %w", w, err)
					return
				}
				if n := inside.Add(1); n != 1 {
					errs <- fmt.Errorf("worker %d: %d holders of the lock", w, n)
				}
				resp, err := c.Get(ctx, counter)
				if err == nil {
					v, _ := strconv.Atoi(string(resp.Kvs[0].Value))
					_, err = c.Put(ctx, counter, strconv.Itoa(v+1))
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
				}
				inside.Add(-1)
				if err := m.Unlock(ctx); err != nil {
					errs <- fmt.Errorf("worker %d Unlock: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := mustGet(t, cli, counter); string(got.Kvs[0].Value) != strconv.Itoa(workers*rounds) {
		t.Errorf("counter = %s, want %d (lost updates: the lock did not exclude)", got.Kvs[0].Value, workers*rounds)
	}
}

func testSTM(t *testing.T, cli, other *clientv3.Client) {
	const accounts, balance, workers, transfers = 5, 100, 4, 10
	for i := range accounts {
		mustPut(t, cli, fmt.Sprintf("stm/acct%d", i), strconv.Itoa(balance))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		c := cli
		if w%2 == 1 {
			c = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range transfers {
				from := fmt.Sprintf("stm/acct%d", (w+i)%accounts)
				to := fmt.Sprintf("stm/acct%d", (w+i+1+w)%accounts)
				_, err := concurrency.NewSTM(c, func(stm concurrency.STM) error {
					a, _ := strconv.Atoi(stm.Get(from))
					b, _ := strconv.Atoi(stm.Get(to))
					amount := a / 3
					if from == to {
						return nil
					}
					stm.Put(from, strconv.Itoa(a-amount))
					stm.Put(to, strconv.Itoa(b+amount))
					return nil
				}, concurrency.WithAbortContext(ctxT(t)))
				if err != nil {
					errs <- fmt.Errorf("worker %d transfer %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sum := 0
	for _, kv := range mustGet(t, cli, "stm/acct", clientv3.WithPrefix()).Kvs {
		v, _ := strconv.Atoi(string(kv.Value))
		sum += v
	}
	if sum != accounts*balance {
		t.Errorf("sum of balances after concurrent STM transfers = %d, want %d", sum, accounts*balance)
	}
}

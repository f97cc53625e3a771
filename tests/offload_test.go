package tests

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// The lease offloader seen from outside: virtual leases through a real
// herald in front of a real etcd, checked against what etcd itself holds.
// What the conformance sessions already compare (grant, timetolive, list,
// revoke, elect/lock hand-over on resign) is not repeated here; these tests
// are about sessions that die, expiry that must delete exactly the right
// keys, and the load herald takes off etcd.
//
// With HERALD_TEST_VIA=etcd the semantic checks run against a second etcd
// directly (and must pass, which checks the tests); the checks of what herald
// keeps upstream (carriers, its reserved prefix, etcd's keepalive count) are
// then skipped.

// offloadPatience bounds every wait for an outcome (a lock passed on, keys
// deleted after expiry). It turns a missing outcome into a failure; nothing
// passes or fails on how fast the outcome came.
const offloadPatience = 60 * time.Second

// offloadEventually polls cond every 50 ms until it holds, and fails t with
// the last description cond gave if it does not within offloadPatience.
func offloadEventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(offloadPatience)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, offloadPatience, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOffload runs the lease offloader's client-visible behaviour against one
// etcd and one herald; each subtest has its own key prefix and runs in
// parallel with the others.
func TestOffload(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	tgt := heraldTarget(t, harness.EtcdOptions{})
	for _, mode := range []sessionDeath{byExpiry, byRevoke} {
		t.Run("Mutex/"+mode.String(), func(t *testing.T) { t.Parallel(); testOffloadMutex(t, tgt, mode) })
		t.Run("Election/"+mode.String(), func(t *testing.T) { t.Parallel(); testOffloadElection(t, tgt, mode) })
	}
	t.Run("PutWithDeadLease", func(t *testing.T) { t.Parallel(); testPutWithDeadLease(t, tgt) })
	t.Run("RewrittenKeySurvivesExpiry", func(t *testing.T) { t.Parallel(); testRewrittenKeySurvives(t, tgt) })
	t.Run("ExpiryDeletesExactlyAttachedKeys", func(t *testing.T) { t.Parallel(); testExpiryExact(t, tgt) })
	t.Run("UpstreamKeepAliveLoad", func(t *testing.T) { t.Parallel(); testUpstreamKeepAliveLoad(t, tgt) })
}

// sessionDeath is how a concurrency.Session's lease ends.
type sessionDeath int

const (
	// byExpiry: the client vanishes without revoking; the lease expires.
	byExpiry sessionDeath = iota
	// byRevoke: Session.Close revokes the lease.
	byRevoke
)

func (d sessionDeath) String() string {
	if d == byExpiry {
		return "expiry"
	}
	return "revoke"
}

// shortSession is a session with a 2 s TTL on its own client through tgt;
// the caller ends it with endSession.
func shortSession(t *testing.T, tgt target) (*clientv3.Client, *concurrency.Session) {
	t.Helper()
	cli := harness.Client(t, tgt.endpoints...)
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(2))
	if err != nil {
		t.Fatalf("NewSession(TTL 2): %v", err)
	}
	return cli, s
}

// endSession ends s as d says: by expiry, the session stops its keepalives
// without revoking (Orphan) and its client closes abruptly; by revoke,
// Session.Close revokes its lease.
func endSession(t *testing.T, d sessionDeath, cli *clientv3.Client, s *concurrency.Session) {
	t.Helper()
	switch d {
	case byExpiry:
		s.Orphan()
		cli.Close()
	case byRevoke:
		if err := s.Close(); err != nil {
			t.Fatalf("Session.Close (revoke): %v", err)
		}
	}
}

// checkCarried checks that key, written by a session with lease id through
// herald, shows id through herald and, read directly from etcd, hangs on a
// live carrier lease while etcd knows no lease id.
func checkCarried(t *testing.T, tgt target, key string, id clientv3.LeaseID) {
	t.Helper()
	via := mustGet(t, harness.Client(t, tgt.endpoints...), key)
	if len(via.Kvs) != 1 || via.Kvs[0].Lease != int64(id) {
		t.Fatalf("through %s, %q = %v; want one key with lease %x", tgt.name, key, via.Kvs, id)
	}
	if tgt.herald == nil {
		return
	}
	direct := harness.Client(t, tgt.upstream.Endpoints()...)
	up := mustGet(t, direct, key)
	if len(up.Kvs) != 1 {
		t.Fatalf("at etcd, %q = %v; want one key", key, up.Kvs)
	}
	carrier := clientv3.LeaseID(up.Kvs[0].Lease)
	if carrier == 0 || carrier == id {
		t.Errorf("at etcd, %q has lease %x; want a carrier (not 0, not the session's %x)", key, carrier, id)
	}
	ttl, err := direct.TimeToLive(ctxT(t), id)
	if err != nil || ttl.TTL != -1 {
		t.Errorf("etcd's TimeToLive(session lease %x) = %s, %v; want TTL -1 (etcd does not know it)", id, describeTTL(ttl), err)
	}
	if ttl, err := direct.TimeToLive(ctxT(t), carrier); err != nil || ttl.TTL <= 0 {
		t.Errorf("etcd's TimeToLive(carrier %x) = %s, %v; want a live lease", carrier, describeTTL(ttl), err)
	}
}

// waitKeyCount waits until prefix holds exactly n keys through cli.
func waitKeyCount(t *testing.T, cli *clientv3.Client, prefix string, n int) {
	t.Helper()
	offloadEventually(t, fmt.Sprintf("%d keys under %q", n, prefix), func() (bool, string) {
		resp, err := cli.Get(ctxT(t), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return false, err.Error()
		}
		return len(resp.Kvs) == n, fmt.Sprintf("%q", keysOf(resp.Kvs))
	})
}

// aliveFor waits d and fails t if done delivers meanwhile: the lease of the
// holder is kept alive, so the waiter must keep waiting for more than two of
// its TTLs (no false expiry).
func aliveFor(t *testing.T, d time.Duration, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s while the holder's session is alive (err %v)", what, err)
	case <-time.After(d):
	}
}

// testOffloadMutex: A holds a Mutex with a 2 s session, B waits; A's session
// dies (expiry or revoke) and B gets the lock.
func testOffloadMutex(t *testing.T, tgt target, d sessionDeath) {
	prefix := "offload/mutex-" + d.String() + "/"
	cliA, sA := shortSession(t, tgt)
	mA := concurrency.NewMutex(sA, prefix)
	if err := mA.Lock(ctxT(t)); err != nil {
		t.Fatalf("A: Lock: %v", err)
	}
	checkCarried(t, tgt, mA.Key(), sA.Lease())

	cliB := harness.Client(t, tgt.endpoints...)
	mB := concurrency.NewMutex(newConcSession(t, cliB), prefix)
	locked := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), offloadPatience)
		defer cancel()
		locked <- mB.Lock(ctx)
	}()
	waitKeyCount(t, cliB, prefix, 2)
	if d == byExpiry {
		aliveFor(t, 5*time.Second, locked, "B got the lock")
	}
	select {
	case err := <-locked:
		t.Fatalf("B got the lock while A holds it (err %v)", err)
	default:
	}
	endSession(t, d, cliA, sA)

	if err := <-locked; err != nil {
		t.Fatalf("B: Lock after A's session ended by %s: %v", d, err)
	}
	owner := mustGet(t, cliB, prefix, clientv3.WithPrefix())
	if got := keysOf(owner.Kvs); !slices.Equal(got, []string{mB.Key()}) {
		t.Errorf("keys under %q once B holds the lock: %q, want only B's %q", prefix, got, mB.Key())
	}
	if tgt.herald != nil {
		direct := harness.Client(t, tgt.upstream.Endpoints()...)
		if up := mustGet(t, direct, mA.Key()); len(up.Kvs) != 0 {
			t.Errorf("at etcd, A's key %q is still there after its session ended: %v", mA.Key(), up.Kvs)
		}
	}
	if err := mB.Unlock(ctxT(t)); err != nil {
		t.Errorf("B: Unlock: %v", err)
	}
}

// testOffloadElection: A leads with a 2 s session, B campaigns, an observer
// follows; A's session dies (expiry or revoke), B leads and the observer
// sees it.
func testOffloadElection(t *testing.T, tgt target, d sessionDeath) {
	prefix := "offload/election-" + d.String() + "/"
	cliA, sA := shortSession(t, tgt)
	eA := concurrency.NewElection(sA, prefix)
	if err := eA.Campaign(ctxT(t), "A"); err != nil {
		t.Fatalf("A: Campaign: %v", err)
	}
	checkCarried(t, tgt, eA.Key(), sA.Lease())

	cliObs := harness.Client(t, tgt.endpoints...)
	octx, ocancel := context.WithCancel(context.Background())
	defer ocancel()
	observed := concurrency.NewElection(newConcSession(t, cliObs), prefix).Observe(octx)
	expectLeader := func(want string) {
		t.Helper()
		select {
		case resp, ok := <-observed:
			if !ok || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != want {
				t.Fatalf("Observe: %v (open %v), want leader %q", resp.Kvs, ok, want)
			}
		case <-time.After(offloadPatience):
			t.Fatalf("Observe: no leader %q within %v", want, offloadPatience)
		}
	}
	expectLeader("A")

	cliB := harness.Client(t, tgt.endpoints...)
	eB := concurrency.NewElection(newConcSession(t, cliB), prefix)
	won := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), offloadPatience)
		defer cancel()
		won <- eB.Campaign(ctx, "B")
	}()
	waitKeyCount(t, cliB, prefix, 2)
	if d == byExpiry {
		aliveFor(t, 5*time.Second, won, "B won the election")
	}
	select {
	case resp := <-observed:
		t.Fatalf("Observe reported %v while A leads", resp.Kvs)
	default:
	}
	endSession(t, d, cliA, sA)

	if err := <-won; err != nil {
		t.Fatalf("B: Campaign after A's session ended by %s: %v", d, err)
	}
	expectLeader("B")
	leader, err := eB.Leader(ctxT(t))
	if err != nil || string(leader.Kvs[0].Value) != "B" {
		t.Errorf("Leader = %v, %v; want B", leader, err)
	}
	if got := keysOf(mustGet(t, cliB, prefix, clientv3.WithPrefix()).Kvs); !slices.Equal(got, []string{eB.Key()}) {
		t.Errorf("keys under %q once B leads: %q, want only B's %q", prefix, got, eB.Key())
	}
	if err := eB.Resign(ctxT(t)); err != nil {
		t.Errorf("B: Resign: %v", err)
	}
}

// putOutcome is what a Put with a lease that does not exist returned.
type putOutcome struct {
	err  error
	keys int // keys under the prefix afterwards
}

// testPutWithDeadLease: a Put with an unknown, a revoked and an expired lease
// fails through herald as directly at etcd, with etcd's error, in clientv3
// and in etcdctl (same output and exit code), and writes nothing.
func testPutWithDeadLease(t *testing.T, tgt target) {
	// Directly at the same etcd, on a prefix of its own.
	direct := target{name: "direct", endpoints: tgt.upstream.Endpoints(), upstream: tgt.upstream}
	targets := []target{direct, tgt}
	prefixes := []string{"offload/deadlease/direct/", "offload/deadlease/via/"}
	clis := []*clientv3.Client{harness.Client(t, direct.endpoints...), harness.Client(t, tgt.endpoints...)}

	// Per target: an ID nobody granted, a lease revoked, a lease expired.
	// Each lease got a key first, so that the lease really was in use.
	type dead struct{ unknown, revoked, expired clientv3.LeaseID }
	deads := make([]dead, 2)
	for i, cli := range clis {
		deads[i].unknown = 0x1234abcd
		for _, p := range []struct {
			id  *clientv3.LeaseID
			ttl int64
		}{{&deads[i].revoked, 60}, {&deads[i].expired, 2}} {
			g, err := cli.Grant(ctxT(t), p.ttl)
			if err != nil {
				t.Fatalf("%s: Grant: %v", targets[i].name, err)
			}
			*p.id = g.ID
			mustPut(t, cli, fmt.Sprintf("%sused-%x", prefixes[i], g.ID), "v", clientv3.WithLease(g.ID))
		}
		if _, err := cli.Revoke(ctxT(t), deads[i].revoked); err != nil {
			t.Fatalf("%s: Revoke: %v", targets[i].name, err)
		}
	}
	for i, cli := range clis {
		offloadEventually(t, targets[i].name+": the 2 s lease expired and its key is gone", func() (bool, string) {
			ttl, err := cli.TimeToLive(ctxT(t), deads[i].expired)
			if err != nil || ttl.TTL != -1 {
				return false, fmt.Sprintf("TimeToLive %s, %v", describeTTL(ttl), err)
			}
			n := len(mustGet(t, cli, prefixes[i], clientv3.WithPrefix()).Kvs)
			return n == 0, fmt.Sprintf("%d keys left", n)
		})
	}

	for _, kind := range []string{"unknown", "revoked", "expired"} {
		var outs [2]putOutcome
		var ctl [2]step
		for i, cli := range clis {
			id := map[string]clientv3.LeaseID{"unknown": deads[i].unknown, "revoked": deads[i].revoked, "expired": deads[i].expired}[kind]
			key := prefixes[i] + kind
			_, outs[i].err = cli.Put(ctxT(t), key, "v", clientv3.WithLease(id))
			stdout, stderr, err := harness.Etcdctl(t, targets[i].endpoints, "put", key+"-ctl", "v", fmt.Sprintf("--lease=%x", int64(id)))
			ctl[i] = step{stdout: stdout, stderr: stderr, code: harness.ExitCode(err)}
			outs[i].keys = len(mustGet(t, cli, prefixes[i], clientv3.WithPrefix()).Kvs)
		}
		d, v := outs[0], outs[1]
		if !errors.Is(d.err, rpctypes.ErrLeaseNotFound) {
			t.Errorf("direct Put with the %s lease: %v; want %v (the test's premise)", kind, d.err, rpctypes.ErrLeaseNotFound)
		}
		if !errors.Is(v.err, rpctypes.ErrLeaseNotFound) || v.err.Error() != d.err.Error() || status.Code(v.err) != status.Code(d.err) {
			t.Errorf("Put with the %s lease through %s: %v (code %v); direct: %v (code %v)", kind, tgt.name, v.err, status.Code(v.err), d.err, status.Code(d.err))
		}
		if d.keys != 0 || v.keys != 0 {
			t.Errorf("Put with the %s lease wrote a key: direct %d, %s %d keys under offload/deadlease/", kind, d.keys, tgt.name, v.keys)
		}
		nd, nv := newNormaliser(), newNormaliser()
		dc := step{stdout: nd.normalise(ctl[0].stdout), stderr: nd.normalise(ctl[0].stderr), code: ctl[0].code}
		vc := step{stdout: nv.normalise(ctl[1].stdout), stderr: nv.normalise(ctl[1].stderr), code: ctl[1].code}
		if dc != vc {
			t.Errorf("etcdctl put --lease=<%s lease> differs:\n%s", kind, describeDiff(dc, vc, tgt.name))
		}
		if !strings.Contains(ctl[1].stderr, rpctypes.ErrLeaseNotFound.Error()) || ctl[1].code == 0 {
			t.Errorf("etcdctl put --lease=<%s lease> through %s: exit %d, stderr %q; want %q", kind, tgt.name, ctl[1].code, ctl[1].stderr, rpctypes.ErrLeaseNotFound)
		}
	}
}

// testRewrittenKeySurvives: keys put with a 2 s lease (by Put and inside a
// Txn), some rewritten before the lease expires — through herald without a
// lease, directly at etcd without a lease or with a lease granted at etcd,
// through herald with another live lease — and one rewritten directly at
// etcd with --ignore-lease (so still on the lease, as etcd sees it): the
// expiry deletes exactly the keys still on the lease.
func testRewrittenKeySurvives(t *testing.T, tgt target) {
	const p = "offload/rewrite/"
	owner := harness.Client(t, tgt.endpoints...)
	other := harness.Client(t, tgt.endpoints...)
	direct := harness.Client(t, tgt.upstream.Endpoints()...)

	short, err := owner.Grant(ctxT(t), 2)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	// Kept alive while the keys are written, however slow the machine.
	kctx, stopKeepAlive := context.WithCancel(context.Background())
	waitKeepAlive := offloadKeepAlive(t, kctx, owner, []clientv3.LeaseID{short.ID})
	long, err := other.Grant(ctxT(t), 60)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	atEtcdLease, err := direct.Grant(ctxT(t), 60)
	if err != nil {
		t.Fatalf("Grant at etcd: %v", err)
	}
	for _, k := range []string{"untouched", "via-herald", "at-etcd", "at-etcd-leased", "at-etcd-ignore-lease", "other-lease"} {
		mustPut(t, owner, p+k, "1", clientv3.WithLease(short.ID))
	}
	if _, err := owner.Txn(ctxT(t)).Then(clientv3.OpPut(p+"in-txn", "1", clientv3.WithLease(short.ID))).Commit(); err != nil {
		t.Fatalf("Txn put with the lease: %v", err)
	}
	mustPut(t, other, p+"via-herald", "2")
	mustPut(t, direct, p+"at-etcd", "2")
	mustPut(t, direct, p+"at-etcd-leased", "2", clientv3.WithLease(atEtcdLease.ID))
	mustPut(t, direct, p+"at-etcd-ignore-lease", "2", clientv3.WithIgnoreLease())
	mustPut(t, other, p+"other-lease", "2", clientv3.WithLease(long.ID))
	stopKeepAlive()
	waitKeepAlive()

	offloadEventually(t, "the short lease's untouched key deleted at etcd", func() (bool, string) {
		resp := mustGet(t, direct, p+"untouched")
		return len(resp.Kvs) == 0, fmt.Sprintf("%v", resp.Kvs)
	})
	if ttl, err := owner.TimeToLive(ctxT(t), short.ID); err != nil || ttl.TTL != -1 {
		t.Errorf("TimeToLive of the expired lease: %s, %v; want TTL -1", describeTTL(ttl), err)
	}
	// The expiry deleted the lease's keys together; a second look a TTL
	// later shows nothing else went.
	time.Sleep(3 * time.Second)
	want := map[string]int64{"at-etcd": 0, "at-etcd-leased": int64(atEtcdLease.ID), "other-lease": int64(long.ID), "via-herald": 0}
	got := mustGet(t, other, p, clientv3.WithPrefix())
	if len(got.Kvs) != len(want) {
		t.Errorf("through %s after the expiry: %q; want the %d rewritten keys not on the lease", tgt.name, keysOf(got.Kvs), len(want))
	}
	for _, kv := range got.Kvs {
		name := strings.TrimPrefix(string(kv.Key), p)
		lease, ok := want[name]
		if !ok || string(kv.Value) != "2" || kv.Lease != lease {
			t.Errorf("through %s: %s = %q lease %x; want value 2, lease %x", tgt.name, kv.Key, kv.Value, kv.Lease, lease)
		}
	}
	if up := mustGet(t, direct, p, clientv3.WithPrefix(), clientv3.WithKeysOnly()); len(up.Kvs) != len(want) {
		t.Errorf("at etcd after the expiry: %q; want the %d rewritten keys not on the lease", keysOf(up.Kvs), len(want))
	}
	ttl, err := other.TimeToLive(ctxT(t), long.ID, clientv3.WithAttachedKeys())
	if err != nil || ttl.TTL <= 0 || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != p+"other-lease" {
		t.Errorf("TimeToLive(other lease, keys) = %s, %v; want alive with only %s", describeTTL(ttl), err, p+"other-lease")
	}
	if _, err := other.Revoke(ctxT(t), long.ID); err != nil {
		t.Errorf("Revoke(other lease): %v", err)
	}
	if _, err := direct.Revoke(ctxT(t), atEtcdLease.ID); err != nil {
		t.Errorf("Revoke(lease at etcd): %v", err)
	}
	if got := keysOf(mustGet(t, direct, p, clientv3.WithPrefix()).Kvs); !slices.Equal(got, []string{p + "at-etcd", p + "via-herald"}) {
		t.Errorf("at etcd after revoking the other leases: %q, want only the keys without a lease", got)
	}
}

// offloadKeepAlive keeps ids alive through cli until ctx ends, draining the
// responses; the returned wait function waits for the drainers.
func offloadKeepAlive(t *testing.T, ctx context.Context, cli *clientv3.Client, ids []clientv3.LeaseID) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		ch, err := cli.KeepAlive(ctx, id)
		if err != nil {
			t.Fatalf("KeepAlive(%x): %v", id, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
			}
		}()
	}
	return wg.Wait
}

// testExpiryExact: 200 leases with 3 keys each, half kept alive and half
// left to expire; exactly the expired half's keys go, each seen once by a
// watcher through herald with the virtual lease in prev_kv.
func testExpiryExact(t *testing.T, tgt target) {
	const p, leases, keysPer, workers = "offload/expiry/", 200, 3, 8
	cli := harness.Client(t, tgt.endpoints...)
	direct := harness.Client(t, tgt.upstream.Endpoints()...)

	ids := make([]clientv3.LeaseID, leases)
	cancels := make([]context.CancelFunc, leases)
	waits := make([]func(), leases)
	keyLease := map[string]clientv3.LeaseID{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, leases)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < leases; i += workers {
				g, err := cli.Grant(ctxT(t), 2)
				if err != nil {
					errs <- fmt.Errorf("Grant %d: %w", i, err)
					return
				}
				ctx, cancel := context.WithCancel(context.Background())
				ch, err := cli.KeepAlive(ctx, g.ID)
				if err != nil {
					cancel()
					errs <- fmt.Errorf("KeepAlive %d: %w", i, err)
					return
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					for range ch {
					}
				}()
				mu.Lock()
				ids[i], cancels[i], waits[i] = g.ID, cancel, func() { <-done }
				mu.Unlock()
				for j := range keysPer {
					k := fmt.Sprintf("%s%03d/%d", p, i, j)
					if _, err := cli.Put(ctxT(t), k, "v", clientv3.WithLease(g.ID)); err != nil {
						errs <- fmt.Errorf("Put %s: %w", k, err)
						return
					}
					mu.Lock()
					keyLease[k] = g.ID
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	t.Cleanup(func() {
		for i := range cancels {
			if cancels[i] != nil {
				cancels[i]()
				waits[i]()
			}
		}
	})
	for err := range errs {
		t.Fatal(err)
	}

	start := mustGet(t, cli, p+"none").Header.Revision
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	wch := cli.Watch(wctx, p, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(start+1))

	// Odd leases stop their keepalives.
	expired := map[string]clientv3.LeaseID{}
	live := map[string]bool{}
	for k, id := range keyLease {
		i, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(k, p), "/")[0])
		if i%2 == 1 {
			expired[k] = id
		} else {
			live[k] = true
		}
	}
	for i := 1; i < leases; i += 2 {
		cancels[i]()
		waits[i]()
		cancels[i] = nil
	}

	deletes := map[string]int{}
	var unexpected []string
	recvUntil := func(stop func(ev *clientv3.Event) bool) {
		t.Helper()
		timeout := time.After(offloadPatience)
		for {
			select {
			case resp, ok := <-wch:
				if !ok || resp.Err() != nil {
					t.Fatalf("watch through %s ended: open %v, err %v", tgt.name, ok, resp.Err())
				}
				for _, ev := range resp.Events {
					k := string(ev.Kv.Key)
					id, isExpired := expired[k]
					switch {
					case ev.Type == clientv3.EventTypeDelete && isExpired:
						deletes[k]++
						if ev.PrevKv == nil || ev.PrevKv.Lease != int64(id) {
							unexpected = append(unexpected, fmt.Sprintf("DELETE %s prev_kv %v, want lease %x", k, ev.PrevKv, id))
						}
					case ev.Type == clientv3.EventTypePut && k == p+"~sentinel":
					default:
						unexpected = append(unexpected, fmt.Sprintf("%s %s (lease %x)", ev.Type, k, ev.Kv.Lease))
					}
					if stop(ev) {
						return
					}
				}
			case <-timeout:
				t.Fatalf("watch through %s: %d of %d expired keys deleted within %v; unexpected: %q", tgt.name, len(deletes), len(expired), offloadPatience, unexpected)
			}
		}
	}
	recvUntil(func(*clientv3.Event) bool { return len(deletes) == len(expired) })
	// The live leases stay alive for more than a TTL longer; a sentinel
	// put then closes the watched history (events come in revision
	// order), so a duplicate or a wrong DELETE would show before it.
	time.Sleep(3 * time.Second)
	mustPut(t, cli, p+"~sentinel", "end")
	recvUntil(func(ev *clientv3.Event) bool { return string(ev.Kv.Key) == p+"~sentinel" })

	for k, n := range deletes {
		if n != 1 {
			t.Errorf("watch: %d DELETEs of %s, want 1", n, k)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("watch through %s saw %d unexpected events, e.g. %q", tgt.name, len(unexpected), unexpected[:min(10, len(unexpected))])
	}
	atEtcd := mustGet(t, direct, p, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	var missing, stale []string
	have := map[string]bool{}
	for _, kv := range atEtcd.Kvs {
		have[string(kv.Key)] = true
		if _, ok := expired[string(kv.Key)]; ok {
			stale = append(stale, string(kv.Key))
		}
	}
	for k := range live {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 || len(stale) > 0 || len(atEtcd.Kvs) != len(live)+1 {
		t.Errorf("at etcd: %d keys; %d live keys missing (e.g. %q), %d expired keys left (e.g. %q); want exactly the %d live keys and the sentinel",
			len(atEtcd.Kvs), len(missing), missing[:min(5, len(missing))], len(stale), stale[:min(5, len(stale))], len(live))
	}
	for i, id := range ids {
		ttl, err := cli.TimeToLive(ctxT(t), id)
		if err != nil {
			t.Fatalf("TimeToLive(%x): %v", id, err)
		}
		// TTL 0 is a live lease with less than a second left (etcd
		// truncates); an ended one answers -1.
		if alive := ttl.TTL >= 0; alive != (i%2 == 0) {
			t.Errorf("lease %d (%x): TTL %d; want alive %v", i, id, ttl.TTL, i%2 == 0)
		}
	}
	t.Logf("%d leases × %d keys: %d keys deleted on expiry, %d kept", leases, keysPer, len(deletes), len(live))
}

// describeTTL shows a TimeToLive answer (its %v shows only the header).
func describeTTL(r *clientv3.LeaseTimeToLiveResponse) string {
	if r == nil {
		return "no answer"
	}
	var keys []string
	for _, k := range r.Keys {
		keys = append(keys, string(k))
	}
	return fmt.Sprintf("TTL %d granted %d keys %q", r.TTL, r.GrantedTTL, keys)
}

var keepAliveReceived = regexp.MustCompile(`(?m)^grpc_server_msg_received_total\{[^}]*grpc_method="LeaseKeepAlive"[^}]*\} (\d+)`)

// upstreamKeepAlives is etcd's count of LeaseKeepAlive stream messages it
// received.
func upstreamKeepAlives(t *testing.T, c *harness.EtcdCluster) int {
	t.Helper()
	body, err := harness.Metrics(c.Member(0).MetricsURL() + "/metrics")
	if err != nil {
		t.Fatalf("etcd /metrics: %v", err)
	}
	n := 0
	for _, m := range keepAliveReceived.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// heraldMetric reads one unlabelled counter from herald's /metrics.
func heraldMetric(t *testing.T, h *harness.Herald, name string) float64 {
	t.Helper()
	body, err := harness.Metrics(h.MetricsURL() + "/metrics")
	if err != nil {
		t.Fatalf("herald /metrics: %v", err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("herald /metrics has no %s", name)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// testUpstreamKeepAliveLoad: 100 leases kept alive through herald for 10 s
// cost etcd fewer keepalive messages than there are leases (the carriers'
// few), where directly each lease would send one every TTL/3.
func testUpstreamKeepAliveLoad(t *testing.T, tgt target) {
	if tgt.herald == nil && tgt.name != "grpc-proxy" {
		// Through etcd's grpc-proxy it runs, and fails: proof it can.
		t.Skipf("counts a proxy's upstream keepalives; the target is %s", tgt.name)
	}
	const leases, ttl, window = 100, 3, 10 * time.Second
	cli := harness.Client(t, tgt.endpoints...)
	ids := make([]clientv3.LeaseID, leases)
	for i := range ids {
		g, err := cli.Grant(ctxT(t), ttl)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		ids[i] = g.ID
		mustPut(t, cli, fmt.Sprintf("offload/load/%03d", i), "v", clientv3.WithLease(g.ID))
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := offloadKeepAlive(t, ctx, cli, ids)
	defer func() { cancel(); wait() }()

	absorbed := func() float64 {
		if tgt.herald == nil {
			return 0
		}
		return heraldMetric(t, tgt.herald, "herald_lease_keepalives_absorbed_total")
	}
	up0, abs0 := upstreamKeepAlives(t, tgt.upstream), absorbed()
	time.Sleep(window)
	up1, abs1 := upstreamKeepAlives(t, tgt.upstream), absorbed()

	// The leases are alive after more than three TTLs: they were kept
	// alive, through herald.
	for _, id := range ids {
		if r, err := cli.TimeToLive(ctxT(t), id); err != nil || r.TTL < 0 {
			t.Fatalf("lease %x after %v of keepalives: %s, %v; want alive", id, window, describeTTL(r), err)
		}
	}
	upstream, absorbedN := up1-up0, abs1-abs0
	direct := leases * int(window/time.Second) * 3 / ttl
	t.Logf("%d leases (TTL %d s) kept alive through %s for %v: etcd received %d LeaseKeepAlive messages, herald absorbed %.0f; direct would be ≈%d",
		leases, ttl, tgt.name, window, upstream, absorbedN, direct)
	if upstream >= leases {
		t.Errorf("etcd received %d LeaseKeepAlive messages while %d leases were kept alive through %s; want fewer than the number of leases (only the carriers')", upstream, leases, tgt.name)
	}
	if tgt.herald != nil && absorbedN < leases {
		t.Errorf("herald absorbed %.0f keepalives for %d leases kept alive for %v; want at least one per lease", absorbedN, leases, window)
	}
}

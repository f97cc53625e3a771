package tests

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

// lockLoadPatience bounds a whole lock workload in these tests; it turns a
// hang into a failure, it is not a threshold.
const lockLoadPatience = 60 * time.Second

// TestLockLoadSelfCheck validates the lock workloads and the history checker
// against plain etcd, directly and through etcd's grpc-proxy: mutual
// exclusion holds, so every history must be free of overlaps and errors. The
// NoLock control must be caught.
func TestLockLoadSelfCheck(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	proxy := harness.StartGRPCProxy(t, c.Endpoints())
	ctx, cancel := context.WithTimeout(context.Background(), lockLoadPatience)
	defer cancel()
	for _, tc := range []struct {
		name      string
		kind      LockKind
		endpoints []string
	}{
		{"mutex", MutexLock, c.Endpoints()},
		{"election", ElectionLock, c.Endpoints()},
		{"mutex/grpc-proxy", MutexLock, []string{proxy.Endpoint()}},
		{"election/grpc-proxy+etcd", ElectionLock, []string{proxy.Endpoint(), c.Endpoints()[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const holders, rounds = 6, 15
			start := time.Now()
			res, err := RunLockLoad(ctx, LockLoad{Kind: tc.kind, Endpoints: tc.endpoints, Name: "/locks/" + tc.name, Holders: holders, Rounds: rounds})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d holds in %v", res.Acquired, time.Since(start).Round(time.Millisecond))
			if msg := res.Check(); msg != "" {
				t.Error(msg)
			}
			if res.Acquired != holders*rounds {
				t.Errorf("%d holds recorded, want %d", res.Acquired, holders*rounds)
			}
		})
	}
	for _, tc := range []struct {
		name string
		kind LockKind
	}{{"etcdctl lock", MutexLock}, {"etcdctl elect", ElectionLock}} {
		t.Run(tc.name, func(t *testing.T) {
			const holders, rounds = 3, 4
			start := time.Now()
			res := RunEtcdctlLockLoad(t, EtcdctlLockLoad{Kind: tc.kind, Endpoints: c.Endpoints(), Name: "ctl-" + tc.kind.String(), Holders: holders, Rounds: rounds})
			t.Logf("%d holds in %v", res.Acquired, time.Since(start).Round(time.Millisecond))
			if msg := res.Check(); msg != "" {
				t.Error(msg)
			}
			if res.Acquired != holders*rounds {
				t.Errorf("%d holds recorded, want %d", res.Acquired, holders*rounds)
			}
		})
	}
	t.Run("no lock is caught", func(t *testing.T) {
		// Every holder waits in its first critical section until all are
		// in: without a lock they all get there, so each pair certainly
		// overlaps. (With a real lock this would deadlock.)
		const holders = 4
		var mu sync.Mutex
		inside := 0
		all := make(chan struct{})
		res, err := RunLockLoad(ctx, LockLoad{Kind: NoLock, Endpoints: c.Endpoints(), Name: "/locks/none", Holders: holders, Rounds: 3,
			Critical: func(ctx context.Context, _, round int) error {
				if round > 0 {
					return nil
				}
				mu.Lock()
				if inside++; inside == holders {
					close(all)
				}
				mu.Unlock()
				select {
				case <-all:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		overlaps, bad := res.History.Overlaps()
		if len(bad) > 0 || len(res.Errors) > 0 {
			t.Fatalf("malformed holds %v, errors %v", bad, res.Errors)
		}
		if want := holders * (holders - 1) / 2; len(overlaps) < want {
			t.Fatalf("%d overlaps found, want at least %d (every pair in the first round)", len(overlaps), want)
		}
		t.Logf("control caught: %s", res.History.Report(overlaps, 2))
	})
}

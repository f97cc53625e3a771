package tests

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// reservedPrefix is herald's default --reserved-prefix.
const reservedPrefix = "\x00herald/"

// heraldOnlyRevisions reads the whole history of c (from revision 1, so
// nothing may have been compacted) and returns, ascending, the revisions
// at which only herald's reserved keys changed: the records herald writes
// for itself (a lease's record at grant, sessions, carriers). A client
// sees none of these keys; etcd's revision moves for them all the same
// (docs/fleet-leases.md). ok is false when the history is compacted.
func heraldOnlyRevisions(t *testing.T, c *harness.EtcdCluster) (revs []int64, ok bool) {
	t.Helper()
	cli := harness.Client(t, c.Endpoints()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now, err := cli.Get(ctx, "herald-test/no-such-key")
	if err != nil {
		t.Fatalf("reading etcd's revision: %v", err)
	}
	last := now.Header.Revision
	if last <= 1 {
		return nil, true
	}
	reservedOnly := map[int64]bool{}
	wch := cli.Watch(ctx, "", clientv3.WithPrefix(), clientv3.WithRev(1))
	for seen := int64(1); seen < last; {
		resp, open := <-wch
		if !open {
			t.Fatalf("history watch closed: %v", ctx.Err())
		}
		if resp.CompactRevision > 0 {
			return nil, false
		}
		if err := resp.Err(); err != nil {
			t.Fatalf("history watch: %v", err)
		}
		for _, ev := range resp.Events {
			rev := ev.Kv.ModRevision
			mine := strings.HasPrefix(string(ev.Kv.Key), reservedPrefix)
			if only, ok := reservedOnly[rev]; !ok || only {
				reservedOnly[rev] = mine
			}
			seen = max(seen, rev)
		}
	}
	for rev, only := range reservedOnly {
		if only {
			revs = append(revs, rev)
		}
	}
	slices.Sort(revs)
	return revs, true
}

// withoutRevisions maps a revision as herald's upstream numbers it to the
// revision a client of a plain etcd would see: the herald-only revisions at
// or below it are taken out.
func withoutRevisions(skip []int64) func(uint64) uint64 {
	return func(rev uint64) uint64 {
		n, _ := slices.BinarySearch(skip, int64(rev)+1)
		return rev - uint64(n)
	}
}

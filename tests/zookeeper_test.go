package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

var zkChroots atomic.Int64

// zooKeeperHerald starts a herald whose upstream is z (the shared
// standalone ZooKeeper when nil), under a chroot of the test's own.
func zooKeeperHerald(t *testing.T, z *harness.ZooKeeper, extra ...string) *harness.Herald {
	t.Helper()
	if z == nil {
		z = harness.SharedZooKeeper(t)
	}
	chroot := fmt.Sprintf("/%s-%d", strings.NewReplacer("/", "_").Replace(t.Name()), zkChroots.Add(1))
	return harness.StartHerald(t, harness.HeraldOptions{Endpoints: []string{z.URL(chroot)}, ExtraArgs: extra})
}

// ctl runs etcdctl against eps and fails t if it fails.
func ctl(t *testing.T, eps []string, args ...string) string {
	t.Helper()
	out, stderr, err := harness.Etcdctl(t, eps, args...)
	if err != nil {
		t.Fatalf("etcdctl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out
}

// TestZooKeeperEtcdctl: the etcdctl commands the README's table marks as
// supported on ZooKeeper, through herald: put, get with its options, del,
// txn, watch, and leases (grant, attached keys, keep-alive, revoke).
func TestZooKeeperEtcdctl(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	eps := []string{zooKeeperHerald(t, nil).Endpoint()}
	// From the next revision, not from now: the watch may be established
	// only after the first put.
	now, err := harness.Client(t, eps[0]).Get(harness.Context(t, harness.DefaultPatience), "svc/")
	if err != nil {
		t.Fatal(err)
	}
	watch := harness.StartEtcdctl(t, eps, "", "watch", "svc/", "--prefix", "--prev-kv", "--rev", strconv.FormatInt(now.Header.Revision+1, 10))

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"put", "svc/a", "1"}, "OK\n"},
		{[]string{"put", "svc/b", "2"}, "OK\n"},
		{[]string{"put", "svc/a", "3", "--prev-kv"}, "OK\nsvc/a\n1\n"},
		{[]string{"get", "svc/a"}, "svc/a\n3\n"},
		{[]string{"get", "svc/", "--prefix", "--keys-only"}, "svc/a\n\nsvc/b\n\n"},
		{[]string{"get", "svc/", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND", "--print-value-only"}, "3\n2\n"},
		{[]string{"get", "svc/", "--prefix", "--limit", "1"}, "svc/a\n3\n"},
		{[]string{"get", "svc/a", "svc/c"}, "svc/a\n3\nsvc/b\n2\n"},
		{[]string{"get", "missing"}, ""},
		{[]string{"del", "svc/b"}, "1\n"},
	} {
		if got := ctl(t, eps, tc.args...); got != tc.want {
			t.Errorf("etcdctl %s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	out, _, err := harness.EtcdctlInput(t, eps, "value(\"svc/a\") = \"3\"\n\nput svc/t yes\n\nput svc/t no\n\n", "txn", "-i")
	if err != nil || !strings.HasSuffix(out, "SUCCESS\n\nOK\n") { // after the prompts
		t.Errorf("txn: %q, %v", out, err)
	}
	var count struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal([]byte(ctl(t, eps, "get", "svc/", "--prefix", "-w", "json")), &count); err != nil || count.Count != 2 {
		t.Errorf("get -w json: %+v, %v; want count 2", count, err)
	}
	if got := ctl(t, eps, "get", "svc/", "--prefix", "--count-only", "-w", "fields"); !strings.Contains(got, `"Count" : 2`) {
		t.Errorf("count-only: %q, want count 2", got)
	}
	// Maintenance answers for herald over ZooKeeper.
	if got := ctl(t, eps, "endpoint", "health"); !strings.Contains(got, "is healthy") {
		t.Errorf("endpoint health: %q", got)
	}
	if got := ctl(t, eps, "endpoint", "status", "-w", "json"); !strings.Contains(got, `"version":"3.`) {
		t.Errorf("endpoint status: %q", got)
	}

	grant := ctl(t, eps, "lease", "grant", "30")
	m := regexp.MustCompile(`^lease ([0-9a-f]+) granted with TTL\(30s\)\n$`).FindStringSubmatch(grant)
	if m == nil {
		t.Fatalf("lease grant: %q", grant)
	}
	id := m[1]
	ctl(t, eps, "put", "svc/leased", "x", "--lease="+id)
	if got := ctl(t, eps, "lease", "timetolive", id, "--keys"); !strings.Contains(got, "attached keys([svc/leased])") {
		t.Errorf("lease timetolive --keys: %q", got)
	}
	if got := ctl(t, eps, "lease", "keep-alive", "--once", id); !strings.Contains(got, "keepalived with TTL(30)") {
		t.Errorf("lease keep-alive --once: %q", got)
	}
	if got := ctl(t, eps, "lease", "revoke", id); got != fmt.Sprintf("lease %s revoked\n", id) {
		t.Errorf("lease revoke: %q", got)
	}
	if got := ctl(t, eps, "get", "svc/leased"); got != "" {
		t.Errorf("the revoked lease's key: %q, want none", got)
	}

	// The watch saw every change, in order, with prev_kv.
	want := "PUT\nsvc/a\n1\nPUT\nsvc/b\n2\nPUT\nsvc/a\n1\nsvc/a\n3\nDELETE\nsvc/b\n2\nsvc/b\n\nPUT\nsvc/t\nyes\nPUT\nsvc/leased\nx\nDELETE\nsvc/leased\nx\nsvc/leased\n\n"
	if err := watch.WaitOutput("DELETE\nsvc/leased\n", 1); err != nil {
		t.Fatal(err)
	}
	if got := watch.Stdout(); got != want {
		t.Errorf("watch output:\n%q\nwant\n%q", got, want)
	}
}

// TestZooKeeperConcurrency runs clientv3's concurrency package through
// herald on ZooKeeper: Session, Election and Mutex under contention.
func TestZooKeeperConcurrency(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := zooKeeperHerald(t, nil)
	cli := harness.Client(t, h.Endpoint())
	other := harness.Client(t, h.Endpoint())
	t.Run("Session", func(t *testing.T) { testSession(t, cli) })
	t.Run("Election", func(t *testing.T) { testElection(t, cli, other) })
	t.Run("Mutex", func(t *testing.T) { testMutex(t, cli, other) })
}

// TestZooKeeperLeaseExpiry: two service nodes hold leases through herald
// on ZooKeeper; one stops renewing. Its keys, and only its, are deleted
// once its TTL runs out; the other node's keys stay, and TimeToLive says
// the dead node's lease is gone.
func TestZooKeeperLeaseExpiry(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	h := zooKeeperHerald(t, nil)
	alive := harness.Client(t, h.Endpoint())
	dying, err := clientv3.New(clientv3.Config{Endpoints: []string{h.Endpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	register := func(c *clientv3.Client, node string) clientv3.LeaseID {
		t.Helper()
		g, err := c.Grant(ctxT(t), 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"svc/web/" + node, "svc/db/" + node} {
			if _, err := c.Put(ctxT(t), k, node, clientv3.WithLease(g.ID)); err != nil {
				t.Fatal(err)
			}
		}
		return g.ID
	}
	kept := register(alive, "n1")
	if _, err := alive.KeepAlive(t.Context(), kept); err != nil {
		t.Fatal(err)
	}
	dead := register(dying, "n2")
	if _, err := dying.KeepAlive(t.Context(), dead); err != nil {
		t.Fatal(err)
	}
	dying.Close() // the node dies: its keepalives stop

	harness.WaitUntil(t, "the dead node's keys are deleted", harness.DefaultPatience, func() bool {
		resp, err := alive.Get(ctxT(t), "svc/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		return err == nil && resp.Count == 2
	})
	resp, err := alive.Get(ctxT(t), "svc/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	if strings.Join(keys, " ") != "svc/db/n1 svc/web/n1" {
		t.Errorf("keys left: %q, want the live node's", keys)
	}
	ttl, err := alive.TimeToLive(ctxT(t), dead)
	if err != nil || ttl.TTL != -1 {
		t.Errorf("TimeToLive of the dead node's lease: %+v, %v; want TTL -1", ttl, err)
	}
	ttl, err = alive.TimeToLive(ctxT(t), kept, clientv3.WithAttachedKeys())
	if err != nil || ttl.TTL <= 0 || len(ttl.Keys) != 2 {
		t.Errorf("TimeToLive of the live node's lease: %+v, %v; want alive with 2 keys", ttl, err)
	}
}

package tests

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// TestHeraldRestartsOverNoSpace: a herald restarted while etcd is over its
// space quota (NOSPACE alarm) serves at once, so an operator can see and
// clear the alarm through it (etcdctl alarm list, del, compact, defrag,
// alarm disarm); its lease offload, which needs to write, comes up by
// itself afterwards.
func TestHeraldRestartsOverNoSpace(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	c := harness.StartEtcd(t, harness.EtcdOptions{ExtraArgs: []string{"--quota-backend-bytes", strconv.Itoa(16 << 20)}})
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: c.Endpoints(), Name: "nospace"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Virtual leases in use: the herald's restart must take back its
	// carriers, which needs a write.
	via := harness.Client(t, h.Endpoint())
	l, err := via.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := via.Put(ctx, "/svc/a", "1", clientv3.WithLease(l.ID)); err != nil {
		t.Fatal(err)
	}
	h.Stop()

	direct := harness.Client(t, c.Endpoints()...)
	value := strings.Repeat("x", 1<<20)
	for i := 0; ; i++ {
		_, err := direct.Put(ctx, "/fill/"+strconv.Itoa(i), value)
		if err != nil && strings.Contains(err.Error(), "database space exceeded") {
			break
		}
		if err != nil || i > 200 {
			t.Fatalf("filling etcd to its quota: put %d: %v", i, err)
		}
	}

	h.Restart()
	out, stderr, err := harness.Etcdctl(t, []string{h.Endpoint()}, "alarm", "list")
	if err != nil || !strings.Contains(out, "alarm:NOSPACE") {
		t.Fatalf("alarm list through the restarted herald: %q %v %s", out, err, stderr)
	}
	if v, ok := metricValue(h.MetricsURL()+"/metrics", "herald_lease_offload_ready"); !ok || v != 0 {
		t.Fatalf("herald_lease_offload_ready = %v (%v) while etcd refuses writes, want 0", v, ok)
	}
	del, stderr, err := harness.Etcdctl(t, []string{h.Endpoint()}, "del", "/fill/", "--prefix")
	if err != nil {
		t.Fatalf("del through herald: %v %s", err, stderr)
	}
	rev, err := direct.Get(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"compact", strconv.FormatInt(rev.Header.Revision, 10)},
		{"defrag"},
		{"alarm", "disarm"},
	} {
		if out, stderr, err := harness.Etcdctl(t, []string{h.Endpoint()}, args...); err != nil {
			t.Fatalf("%v through herald (after deleting %s keys): %q %v %s", args, strings.TrimSpace(del), out, err, stderr)
		}
	}
	out, _, err = harness.Etcdctl(t, []string{h.Endpoint()}, "alarm", "list")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("alarm list after disarm: %q %v", out, err)
	}
	for {
		if v, ok := metricValue(h.MetricsURL()+"/metrics", "herald_lease_offload_ready"); ok && v == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("lease offload not up after the alarm was cleared\n%s", h.LogTail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := via.Grant(ctx, 10); err != nil {
		t.Fatalf("lease grant once offload is up: %v", err)
	}
}

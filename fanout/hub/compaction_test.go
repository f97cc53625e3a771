package hub_test

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream/zookeeper"
)

// TestCompactedStartGetsEtcdsCompactRevision: a watch of a fan-out prefix
// from a compacted revision is cancelled with etcd's own compact revision
// (learned from one watch create at etcd), as etcd cancels it.
func TestCompactedStartGetsEtcdsCompactRevision(t *testing.T) {
	e := startEtcd(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	var revs []int64
	for range 6 {
		put, err := e.direct.Put(ctx, "/services/a", "v")
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, put.Header.Revision)
	}
	if _, err := e.direct.Compact(ctx, revs[4]); err != nil {
		t.Fatal(err)
	}
	viaHub := e.startHub(t, "compaction", nil, hub.Options{Prefixes: []string{"/services/"}})
	for _, c := range []struct {
		name   string
		client *clientv3.Client
	}{{"etcd", e.direct}, {"hub", viaHub}} {
		resp := <-c.client.Watch(ctx, "/services/a", clientv3.WithRev(revs[1]))
		if !resp.Canceled || resp.CompactRevision != revs[4] {
			t.Errorf("%s: watch from compacted revision %d: canceled %v, compact revision %d; want etcd's %d",
				c.name, revs[1], resp.Canceled, resp.CompactRevision, revs[4])
		}
	}
}

// TestPastStartOnZooKeeperIsServed: herald's ZooKeeper upstream fails every
// read at a past revision as compacted, yet serves watches from its
// window; a watch of a fan-out prefix from a past revision gets its events.
// The hub's clock never moves: a hub that waited out compactionWait for
// the compacted cancel that never comes would never answer.
func TestPastStartOnZooKeeperIsServed(t *testing.T) {
	zk := harness.StartZooKeeper(t, harness.ZooKeeperOptions{})
	ctx := harness.Context(t, harness.DefaultPatience)
	up, err := zookeeper.Dial(ctx, zookeeper.Config{URL: zk.URL("/hub")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	var revs []int64
	for _, v := range []string{"1", "2", "3"} {
		resp, err := up.Put(ctx, &pb.PutRequest{Key: []byte("/services/a"), Value: []byte(v)})
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, resp.Header.Revision)
	}
	if _, err := up.Range(ctx, &pb.RangeRequest{Key: []byte("/services/a"), Revision: revs[1]}); err == nil {
		t.Fatal("ZooKeeper read at a past revision: want the compacted error this test is about")
	}
	viaHub, _ := serveHub(t, up, hub.Config{Name: "zookeeper", Clock: clock.NewManual(time.Now()),
		Options: hub.Options{Prefixes: []string{"/services/"}}})
	var got []string
	for resp := range viaHub.Watch(ctx, "/services/a", clientv3.WithRev(revs[1])) {
		if err := resp.Err(); err != nil {
			t.Fatalf("watch from revision %d: %v", revs[1], err)
		}
		for _, ev := range resp.Events {
			got = append(got, string(ev.Kv.Value))
		}
		if len(got) >= 2 {
			break
		}
	}
	if len(got) != 2 || got[0] != "2" || got[1] != "3" {
		t.Fatalf("watch from revision %d: values %q, want [2 3]", revs[1], got)
	}
}

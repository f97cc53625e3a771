package hub_test

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/tests/harness"
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

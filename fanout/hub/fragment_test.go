package hub_test

import (
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/tests/harness"
)

// TestFragmentsAtTheConfiguredLimit: a fragmenting watch served from the
// cache splits a response where the configured limit (herald's
// --max-request-bytes plus gRPC's overhead) says, not at etcd's default.
func TestFragmentsAtTheConfiguredLimit(t *testing.T) {
	e := startEtcd(t)
	viaHub := e.startHub(t, "fragments", nil, hub.Options{Prefixes: []string{"/services/"}, MaxResponseBytes: 64 << 10})
	ctx := harness.Context(t, harness.DefaultPatience)
	ws, err := pb.NewWatchClient(viaHub.ActiveConnection()).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	create := &pb.WatchCreateRequest{Key: []byte("/services/"), RangeEnd: []byte("/services0"), Fragment: true}
	if err := ws.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: create}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := ws.Recv(); err != nil || !resp.Created {
		t.Fatalf("create: %v %v", resp, err)
	}
	// One revision with three 40 KB events: 120 KB, above 64 KB.
	value := strings.Repeat("v", 40<<10)
	if _, err := e.direct.Txn(ctx).Then(
		clientv3.OpPut("/services/a", value), clientv3.OpPut("/services/b", value), clientv3.OpPut("/services/c", value),
	).Commit(); err != nil {
		t.Fatal(err)
	}
	var fragments, events int
	for events < 3 {
		resp, err := ws.Recv()
		if err != nil {
			t.Fatal(err)
		}
		fragments++
		events += len(resp.Events)
	}
	if fragments < 2 {
		t.Fatalf("3 events of 40 KB came in %d response(s); want fragments of at most 64 KB", fragments)
	}
}

package proxy_test

import (
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream"
)

// seamOnly offers the upstream seam and nothing more, as an adapter for a
// coordinator that does not speak etcd's gRPC API does: it hides the etcd
// Client's Forwarder.
type seamOnly struct{ upstream.Upstream }

// TestUpstreamWithoutForwarder: through an upstream without a Forwarder,
// what the seam covers works, and what herald would pass through unchanged
// is refused with Unimplemented, naming the call, rather than hanging or
// answering wrongly.
func TestUpstreamWithoutForwarder(t *testing.T) {
	e := startEtcd(t)
	e.startHeraldWith(t, func(o *heraldOptions) {
		o.Name = "herald-seam"
		o.Upstream = seamOnly{o.Upstream}
	})
	ctx := harness.Context(t, harness.DefaultPatience)
	if _, err := e.viaHerald.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if resp, err := e.viaHerald.Get(ctx, "k"); err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get through the seam: %v, %v", resp, err)
	}
	members, err := e.viaHerald.MemberList(ctx)
	if err != nil || len(members.Members) != 1 || members.Members[0].ClientURLs[0] != "http://"+e.proxyAddr {
		t.Fatalf("member list through the seam: %v, %v; want etcd's member with herald's URL", members, err)
	}

	// Status and the alarm list answer for herald (endpoint status and
	// health work); raising an alarm does not.
	st, err := e.viaHerald.Status(ctx, e.proxyAddr)
	if err != nil || st.Version == "" || st.Header.MemberId == 0 || st.Leader != st.Header.MemberId {
		t.Errorf("status through the seam: %v, %v; want herald's version and the upstream's member as leader", st, err)
	}
	if alarms, err := e.viaHerald.AlarmList(ctx); err != nil || len(alarms.Alarms) != 0 {
		t.Errorf("alarm list through the seam: %v, %v; want none", alarms, err)
	}

	refused := map[string]error{}
	_, refused["/etcdserverpb.Maintenance/Defragment"] = e.viaHerald.Defragment(ctx, e.proxyAddr)
	_, refused["/etcdserverpb.Auth/AuthStatus"] = e.viaHerald.AuthStatus(ctx)
	_, refused["/etcdserverpb.Cluster/MemberAdd"] = e.viaHerald.MemberAdd(ctx, []string{"http://127.0.0.1:1"})
	if stream, err := e.viaHerald.GetStream(ctx, "k"); err != nil {
		refused["/etcdserverpb.KV/RangeStream"] = err
	} else {
		_, refused["/etcdserverpb.KV/RangeStream"] = clientv3.GetStreamToGetResponse(stream)
	}
	for method, err := range refused {
		if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), method) {
			t.Errorf("%s: %v; want Unimplemented naming the call", method, err)
		}
	}
}

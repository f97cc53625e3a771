package proxy_test

import (
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
)

// TestStartsBeforeEtcd: a herald whose etcd is not up yet starts and
// serves; lease calls are Unavailable (not "lease not found") until the
// offloader comes up, which it does by itself once etcd is there, as does
// the fan-out.
func TestStartsBeforeEtcd(t *testing.T) {
	clientAddr := harness.FreeAddr(t)
	e := &env{etcdURL: "http://" + clientAddr}
	e.startHeraldWith(t, func(o *heraldOptions) {
		o.Name, o.Offload = "herald-early", defaultOffload()
		o.Fanout.Prefixes = []string{"/services/"}
	})
	if off, fan := e.srv.Ready(); off || fan {
		t.Fatalf("ready (offload %v, fan-out %v) with no etcd", off, fan)
	}
	ctx := harness.Context(t, harness.DefaultPatience)
	_, err := e.viaHerald.Grant(ctx, 10)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("lease grant before etcd: %v, want Unavailable", err)
	}

	emb, err := embedetcd.Start(embedetcd.Config{
		DataDir: filepath.Join(t.TempDir(), "data"), ClientAddr: clientAddr, PeerAddr: harness.FreeAddr(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	e.direct = newClient(t, emb.Endpoint())

	harness.WaitUntil(t, "the offloader and the hub ready once etcd is up", harness.DefaultPatience, func() bool {
		off, fan := e.srv.Ready()
		return off && fan
	})
	l, err := e.viaHerald.Grant(ctx, 10)
	if err != nil {
		t.Fatalf("lease grant once etcd is up: %v", err)
	}
	if ttl, err := e.direct.TimeToLive(ctx, l.ID); err != nil || ttl.TTL != -1 {
		t.Fatalf("etcd knows lease %x (TTL %d, %v): it is not virtual", l.ID, ttl.TTL, err)
	}
	if _, err := e.viaHerald.Put(ctx, "/services/a", "1", clientv3.WithLease(l.ID)); err != nil {
		t.Fatal(err)
	}
	// A serializable read of the fan-out prefix through the herald that
	// acknowledged the put sees it (read your writes, as on one member).
	got, err := e.viaHerald.Get(ctx, "/services/", clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		t.Fatalf("serializable read of the fan-out prefix: %v", err)
	}
	if len(got.Kvs) != 1 || got.Kvs[0].Lease != int64(l.ID) {
		t.Fatalf("serializable read of the fan-out prefix: %v, want /services/a with lease %x", got.Kvs, l.ID)
	}
}

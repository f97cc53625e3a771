package etcd

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream"
)

// TestOneRefusalPerStaleToken: a client's call with a token etcd refuses
// (here one that never existed) reaches etcd once and comes back with
// etcd's refusal, not after clientv3's retry interceptor has sent it 100
// times (it would fetch a token of its own first, and herald's connection
// has none). Counted by herald_upstream_errors_total, whose interceptor
// sits below the retries.
func TestOneRefusalPerStaleToken(t *testing.T) {
	emb, err := embedetcd.Start(embedetcd.Config{DataDir: filepath.Join(t.TempDir(), "d"), ClientAddr: harness.FreeAddr(t), PeerAddr: harness.FreeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := harness.Client(t, emb.Endpoint())
	for _, step := range []func() error{
		func() error { _, err := root.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := root.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	c, err := Dial(Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bogus := upstream.Outgoing(metadata.NewIncomingContext(ctx, metadata.Pairs(rpctypes.TokenFieldNameGRPC, "bogus.1")))
	if _, err := c.Range(bogus, &pb.RangeRequest{Key: []byte("k")}); !errors.Is(rpctypes.Error(err), rpctypes.ErrInvalidAuthToken) {
		t.Fatalf("a read with a bogus token: %v; want %v", err, rpctypes.ErrInvalidAuthToken)
	}
	if _, err := c.Put(bogus, &pb.PutRequest{Key: []byte("k")}); !errors.Is(rpctypes.Error(err), rpctypes.ErrInvalidAuthToken) {
		t.Fatalf("a write with a bogus token: %v; want %v", err, rpctypes.ErrInvalidAuthToken)
	}
	counts := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "herald_upstream_errors_total" {
			for _, m := range mf.GetMetric() {
				counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	onlyCounted(t, counts, map[string]float64{"Unauthenticated": 2})
}

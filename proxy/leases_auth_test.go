package proxy_test

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/heraldproj/herald/tests/harness"
)

// TestLeaseLeasesWithAuthHidesCarriers: with etcd auth on, an
// authenticated client's LeaseLeases goes to etcd, which lists herald's
// carriers and session too; herald shows only the client's real leases.
func TestLeaseLeasesWithAuthHidesCarriers(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	putLeased(t, e, "leased", 30)
	if _, err := e.direct.UserAdd(ctx, "root", "rootpw"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.direct.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.direct.AuthEnable(ctx); err != nil {
		t.Fatal(err)
	}
	login := func(endpoint string) *clientv3.Client {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Username: "root", Password: "rootpw", DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	direct, viaHerald := login(e.etcdURL), login(e.proxyAddr)
	mine, err := viaHerald.Grant(ctx, 60) // a real etcd lease: the client has a token
	if err != nil {
		t.Fatal(err)
	}

	atEtcd, err := direct.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(atEtcd.Leases) < 3 {
		t.Fatalf("etcd lists %d leases; want herald's session and carrier besides the client's: the test shows nothing", len(atEtcd.Leases))
	}
	shown, err := viaHerald.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown.Leases) != 1 || shown.Leases[0].ID != mine.ID {
		t.Fatalf("LeaseLeases through herald with a token = %v, want only the client's lease %x", shown.Leases, mine.ID)
	}
}

package proxy_test

import (
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/heraldproj/herald/tests/harness"
)

// TestAuthThroughHerald enables etcd's auth through herald and checks that
// tokens pass through: a user with a role may write its prefix, another
// user is denied with etcd's own error.
func TestAuthThroughHerald(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	c := e.viaHerald
	steps := []func() error{
		func() error { _, err := c.RoleAdd(ctx, "root"); return err },
		func() error { _, err := c.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := c.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := c.RoleAdd(ctx, "app"); return err },
		func() error {
			_, err := c.RoleGrantPermission(ctx, "app", "/app/", clientv3.GetPrefixRangeEnd("/app/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := c.UserAdd(ctx, "alice", "alicepw"); return err },
		func() error { _, err := c.UserGrantRole(ctx, "alice", "app"); return err },
		func() error { _, err := c.UserAdd(ctx, "bob", "bobpw"); return err },
		func() error { _, err := c.AuthEnable(ctx); return err },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
	}
	user := func(name, pw string) *clientv3.Client {
		uc, err := clientv3.New(clientv3.Config{Endpoints: []string{e.proxyAddr}, Username: name, Password: pw, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatalf("login %s: %v", name, err)
		}
		t.Cleanup(func() { uc.Close() })
		return uc
	}
	if _, err := user("alice", "alicepw").Put(ctx, "/app/x", "1"); err != nil {
		t.Fatalf("alice may write /app/: %v", err)
	}
	_, err := user("bob", "bobpw").Put(ctx, "/app/x", "2")
	if !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("bob's put: %v, want %v", err, rpctypes.ErrPermissionDenied)
	}
	if _, err := c.Put(ctx, "/app/x", "3"); !errors.Is(err, rpctypes.ErrUserEmpty) {
		t.Fatalf("put without a token: %v, want %v", err, rpctypes.ErrUserEmpty)
	}
	_, err = clientv3.New(clientv3.Config{Endpoints: []string{e.proxyAddr}, Username: "alice", Password: "wrong", DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if !errors.Is(err, rpctypes.ErrAuthFailed) {
		t.Fatalf("wrong password: %v, want %v", err, rpctypes.ErrAuthFailed)
	}
}

// TestOffloadOffWhenEtcdHasAuth starts herald in front of an etcd that
// already has auth on: herald cannot keep carriers without credentials, so
// it starts as a pass-through proxy, and leases are etcd's.
func TestOffloadOffWhenEtcdHasAuth(t *testing.T) {
	e := startEtcd(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	for _, step := range []func() error{
		func() error { _, err := e.direct.RoleAdd(ctx, "root"); return err },
		func() error { _, err := e.direct.UserAdd(ctx, "root", "pw"); return err },
		func() error { _, err := e.direct.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := e.direct.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	e.startHerald(t, "h", defaultOffload())
	root, err := clientv3.New(clientv3.Config{Endpoints: []string{e.proxyAddr}, Username: "root", Password: "pw", DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	g, err := root.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := clientv3.New(clientv3.Config{Endpoints: []string{e.etcdURL}, Username: "root", Password: "pw", DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if ttl, err := direct.TimeToLive(ctx, g.ID); err != nil || ttl.TTL <= 0 {
		t.Fatalf("the lease granted through herald is not etcd's: %+v %v", ttl, err)
	}
}

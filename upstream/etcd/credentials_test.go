package etcd

import (
	"errors"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream"
)

// TestCredentialsOnlyForHeraldsOwnCalls: with Config.User, the calls
// marked upstream.AsHerald run as herald's user, on a real etcd with auth
// on; a call made for a client (no mark: tokenless, or with the client's
// own token) never gets herald's token. A token that etcd no longer knows
// is replaced at the next call; with auth off, the marked calls go without
// a token.
func TestCredentialsOnlyForHeraldsOwnCalls(t *testing.T) {
	emb := embedded.Start(t)
	root := harness.Client(t, emb.Endpoint())
	ctx := harness.Context(t, harness.DefaultPatience)
	heraldCalls := func(c *Client) error {
		_, err := c.Range(upstream.AsHerald(ctx), &pb.RangeRequest{Key: []byte("/svc/"), RangeEnd: []byte("/svc0")})
		return err
	}

	c, err := Dial(Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second, User: "herald", Password: "heraldpw"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := heraldCalls(c); err != nil {
		t.Fatalf("auth off: herald's own read: %v", err)
	}

	for _, step := range []func() error{
		func() error { _, err := root.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := root.RoleAdd(ctx, "svc-reader"); return err },
		func() error {
			_, err := root.RoleGrantPermission(ctx, "svc-reader", "/svc/", "/svc0", clientv3.PermissionType(clientv3.PermRead))
			return err
		},
		func() error { _, err := root.UserAdd(ctx, "herald", "heraldpw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "herald", "svc-reader"); return err },
		func() error { _, err := root.UserAdd(ctx, "carol", "carolpw"); return err },
		func() error { _, err := root.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	// The token fetched while auth was off ("") is refused now (user name
	// is empty), and replaced.
	if err := heraldCalls(c); err != nil {
		t.Fatalf("auth on: herald's own read: %v", err)
	}
	// A client's calls: tokenless, and with carol's token (no role).
	if _, err := c.Range(upstream.Outgoing(ctx), &pb.RangeRequest{Key: []byte("/svc/a")}); !errors.Is(rpctypes.Error(err), rpctypes.ErrUserEmpty) {
		t.Errorf("a tokenless client's read: %v; want %v (never herald's token)", err, rpctypes.ErrUserEmpty)
	}
	carol, err := pb.NewAuthClient(c.direct).Authenticate(ctx, &pb.AuthenticateRequest{Name: "carol", Password: "carolpw"})
	if err != nil {
		t.Fatal(err)
	}
	asCarol := upstream.Outgoing(metadata.NewIncomingContext(ctx, metadata.Pairs(rpctypes.TokenFieldNameGRPC, carol.Token)))
	if _, err := c.Range(asCarol, &pb.RangeRequest{Key: []byte("/svc/a")}); !errors.Is(rpctypes.Error(err), rpctypes.ErrPermissionDenied) {
		t.Errorf("carol's read: %v; want %v", err, rpctypes.ErrPermissionDenied)
	}

	// Turning auth off and on again invalidates every simple token; the
	// next call authenticates again.
	c.creds.mu.Lock()
	before := c.creds.token
	c.creds.mu.Unlock()
	admin := harness.ClientAs(t, "root", "rootpw", emb.Endpoint())
	if _, err := admin.AuthDisable(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AuthEnable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := heraldCalls(c); err != nil {
		t.Fatalf("after auth was turned off and on: herald's own read: %v", err)
	}
	c.creds.mu.Lock()
	after := c.creds.token
	c.creds.mu.Unlock()
	if after == "" || after == before {
		t.Errorf("token %q after auth was turned off and on, %q before: want a new one", after, before)
	}

	// A watch stream as herald: created, with the events of the range.
	ws, err := c.Watch(upstream.AsHerald(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Create(&pb.WatchCreateRequest{Key: []byte("/svc/"), RangeEnd: []byte("/svc0")}); err != nil {
		t.Fatal(err)
	}
	resp, err := ws.Recv()
	if err != nil || !resp.Created || resp.Canceled {
		t.Fatalf("herald's watch: %v %v; want created", resp, err)
	}

	wrong, err := Dial(Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second, User: "herald", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if err := heraldCalls(wrong); !errors.Is(rpctypes.Error(err), rpctypes.ErrAuthFailed) {
		t.Errorf("a wrong password: %v; want %v", err, rpctypes.ErrAuthFailed)
	}
}

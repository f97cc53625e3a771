package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/tests/harness"
)

// TestAuthFanout: etcd has auth on and herald an etcd user of its own
// (--user, read on the fan-out prefix): the fan-out serves watches of the
// prefix from its cache, and herald answers each watch create exactly as
// etcd does, compared create by create with the same client straight at
// etcd — a user with read permission, one without, no token, a bogus
// token, a watch outside the prefix; an open watch outlives the
// revocation of its permission (etcd checks at creation only), and new
// creates are refused; a permitted watch from before the cache's window
// catches up from etcd as herald's user. With simple tokens and with JWT
// (whose tokens go stale at any change to the auth store, herald's own
// too).
func TestAuthFanout(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	t.Run("simple tokens", func(t *testing.T) {
		t.Parallel()
		authFanout(t, harness.EtcdOptions{}, rpctypes.ErrGRPCPermissionDenied)
	})
	t.Run("JWT", func(t *testing.T) {
		t.Parallel()
		authFanout(t, jwtEtcdOptions(t), rpctypes.ErrGRPCAuthOldRevision)
	})
}

// authFanout is TestAuthFanout on an etcd started with opts; oldToken is
// etcd's refusal of a token issued before a change to the auth store.
func authFanout(t *testing.T, opts harness.EtcdOptions, oldToken error) {
	e := harness.StartEtcd(t, opts)
	eps := e.Endpoints()
	for _, args := range [][]string{
		{"put", "/svc/early", "before herald"},
		{"user", "add", "root", "--new-user-password=rootpw"},
		{"role", "add", "svc-reader"},
		{"role", "grant-permission", "svc-reader", "read", "/svc/", "--prefix"},
		{"user", "add", "herald", "--new-user-password=heraldpw"},
		{"user", "grant-role", "herald", "svc-reader"},
		{"user", "add", "alice", "--new-user-password=alicepw"},
		{"user", "grant-role", "alice", "svc-reader"},
		{"user", "add", "bob", "--new-user-password=bobpw"},
		{"user", "add", "carol", "--new-user-password=carolpw"},
		{"user", "grant-role", "carol", "svc-reader"},
		{"auth", "enable"},
	} {
		ctl(t, eps, args...)
	}
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: eps, ExtraArgs: []string{"--fanout-prefix", "/svc/", "--user", "herald:heraldpw"}})
	harness.WaitUntil(t, "herald's fan-out up, reading as its own user", harness.DefaultPatience, func() bool {
		v, ok := metricValue(h.MetricsURL()+"/metrics", "herald_fanout_ready")
		return ok && v == 1
	})
	ctx := harness.Context(t, harness.DefaultPatience)
	targets := []struct {
		name string
		conn *clientv3.Client
	}{{"etcd", harness.Client(t, eps...)}, {"herald", harness.Client(t, h.Endpoint())}}
	token := func(cli *clientv3.Client, user, password string) string {
		resp, err := pb.NewAuthClient(cli.ActiveConnection()).Authenticate(ctx, &pb.AuthenticateRequest{Name: user, Password: password})
		if err != nil {
			t.Fatalf("authenticate %s: %v", user, err)
		}
		return resp.Token
	}
	// Each target's answers to creates of the keys' prefixes on one
	// stream, as comparable lines.
	create := func(cli *clientv3.Client, tok string, keys ...string) (string, pb.Watch_WatchClient) {
		sctx := ctx
		if tok != "" {
			sctx = metadata.AppendToOutgoingContext(ctx, rpctypes.TokenFieldNameGRPC, tok)
		}
		ws, err := pb.NewWatchClient(cli.ActiveConnection()).Watch(sctx)
		if err != nil {
			t.Fatal(err)
		}
		var answers []string
		for _, key := range keys {
			creq := &pb.WatchCreateRequest{Key: []byte(key), RangeEnd: []byte(clientv3.GetPrefixRangeEnd(key))}
			if err := ws.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: creq}}); err != nil {
				t.Fatal(err)
			}
			resp, err := ws.Recv()
			if err != nil {
				return fmt.Sprintf("error %v", err), nil
			}
			answers = append(answers, fmt.Sprintf("created=%v canceled=%v id=%d reason=%q", resp.Created, resp.Canceled, resp.WatchId, resp.CancelReason))
		}
		return strings.Join(answers, "; "), ws
	}
	compare := func(what string, tok func(*clientv3.Client) string, key, want string, more ...string) []pb.Watch_WatchClient {
		t.Helper()
		var streams []pb.Watch_WatchClient
		for _, target := range targets {
			got, ws := create(target.conn, tok(target.conn), append([]string{key}, more...)...)
			if got != want {
				t.Errorf("%s, through %s: %s; want %s", what, target.name, got, want)
			}
			streams = append(streams, ws)
		}
		return streams
	}
	const served = `created=true canceled=false id=0 reason=""`
	refused := func(reason error) string {
		return fmt.Sprintf("created=true canceled=true id=-1 reason=%q", reason.Error())
	}
	as := func(user, password string) func(*clientv3.Client) string {
		return func(cli *clientv3.Client) string { return token(cli, user, password) }
	}
	fixed := func(tok string) func(*clientv3.Client) string { return func(*clientv3.Client) string { return tok } }

	// A tokenless serializable read of the prefix, which a herald without
	// a user answers from the cache, is etcd's to refuse.
	for _, target := range targets {
		_, err := target.conn.Get(ctx, "/svc/", clientv3.WithPrefix(), clientv3.WithSerializable())
		if err == nil || err.Error() != rpctypes.ErrUserEmpty.Error() {
			t.Errorf("tokenless serializable get, through %s: %v; want %v", target.name, err, rpctypes.ErrUserEmpty)
		}
	}
	compare("bob, without read permission", as("bob", "bobpw"), "/svc/", refused(rpctypes.ErrGRPCPermissionDenied))
	compare("no token", fixed(""), "/svc/", refused(rpctypes.ErrGRPCUserEmpty))
	compare("a bogus token", fixed("bogus.token"), "/svc/", refused(rpctypes.ErrGRPCInvalidAuthToken))
	compare("bob, outside the fan-out prefix", as("bob", "bobpw"), "/other/", refused(rpctypes.ErrGRPCPermissionDenied))
	aliceTokens := map[*clientv3.Client]string{}
	alice := func(cli *clientv3.Client) string {
		aliceTokens[cli] = token(cli, "alice", "alicepw")
		return aliceTokens[cli]
	}
	watchers := func() float64 {
		v, ok := metricValue(h.MetricsURL()+"/metrics", "herald_fanout_watchers")
		if !ok {
			t.Fatal("no herald_fanout_watchers")
		}
		return v
	}
	// A refused create takes no watch ID: the next create on the stream
	// gets 0.
	compare("alice, outside her permission, then inside it", as("alice", "alicepw"), "/other/",
		refused(rpctypes.ErrGRPCPermissionDenied)+"; "+served, "/svc/")
	before := watchers()
	open := compare("alice, with read permission", alice, "/svc/", served)
	if after := watchers(); after != before+1 {
		t.Errorf("herald_fanout_watchers %v before alice's watch, %v after; want hers served from the cache", before, after)
	}

	rootCli := harness.ClientAs(t, "root", "rootpw", eps...)
	put := func(key string) {
		if _, err := rootCli.Put(ctx, key, "v"); err != nil {
			t.Fatal(err)
		}
	}
	expectEvent := func(what, key string) {
		t.Helper()
		for i, ws := range open {
			if ws == nil {
				continue
			}
			resp, err := recvWithin(ws, harness.DefaultPatience)
			if err != nil || len(resp.Events) != 1 || string(resp.Events[0].Kv.Key) != key {
				t.Errorf("%s, through %s: %v %v; want the put of %s", what, targets[i].name, resp, err, key)
			}
		}
	}
	put("/svc/a")
	expectEvent("alice's watch", "/svc/a")

	// etcd checks a watch when it is created, never again: the open watch
	// keeps its events after alice loses the role; a new create is refused,
	// with her token or a new one.
	if _, err := rootCli.UserRevokeRole(ctx, "alice", "svc-reader"); err != nil {
		t.Fatal(err)
	}
	put("/svc/b")
	expectEvent("alice's watch after her role was revoked", "/svc/b")
	compare("alice's token after the revocation", func(cli *clientv3.Client) string { return aliceTokens[cli] }, "/svc/", refused(oldToken))
	compare("alice, authenticated again, without the role", as("alice", "alicepw"), "/svc/", refused(rpctypes.ErrGRPCPermissionDenied))

	// carol's watch from before herald started catches up from etcd as
	// herald's user (whose JWT the revocation made stale too).
	early, err := rootCli.Get(ctx, "/svc/early")
	if err != nil || len(early.Kvs) != 1 {
		t.Fatalf("get /svc/early: %v %v", early, err)
	}
	for _, target := range targets {
		carol := harness.ClientAs(t, "carol", "carolpw", target.conn.Endpoints()[0])
		wctx, stop := context.WithCancel(ctx)
		var keys []string
		for resp := range carol.Watch(wctx, "/svc/", clientv3.WithPrefix(), clientv3.WithRev(early.Kvs[0].ModRevision)) {
			if err := resp.Err(); err != nil {
				t.Errorf("carol's watch from revision %d, through %s: %v", early.Kvs[0].ModRevision, target.name, err)
				break
			}
			for _, ev := range resp.Events {
				keys = append(keys, string(ev.Kv.Key))
			}
			if len(keys) >= 3 {
				break
			}
		}
		stop()
		if got := strings.Join(keys, " "); got != "/svc/early /svc/a /svc/b" {
			t.Errorf("carol's watch from revision %d, through %s: %s; want /svc/early /svc/a /svc/b", early.Kvs[0].ModRevision, target.name, got)
		}
	}
}

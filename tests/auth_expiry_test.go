package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/tests/harness"
)

// TestAuthTokenExpiry: herald never acts for a client after etcd would
// refuse its token. A token that has expired (a simple token unused for
// etcd's --auth-token-ttl, a JWT past its exp) gets etcd's own refusal for
// every lease call through herald, with offloading on, as at etcd directly;
// a keepalive stream opened with it ends with etcd's error at its next
// renewal.
func TestAuthTokenExpiry(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	t.Run("simple tokens", func(t *testing.T) {
		t.Parallel()
		// A simple token lives 2 s after its last use: the calls with it
		// are made, then it waits 4 s unused.
		authTokenExpiry(t, harness.EtcdOptions{ExtraArgs: []string{"--auth-token-ttl=2"}}, []string{"--auth-token-ttl", "2"}, 4*time.Second)
	})
	t.Run("JWT", func(t *testing.T) {
		t.Parallel()
		// A JWT lives 6 s from its issue, whatever its use (enough for the
		// calls with it on a loaded machine); the test waits 8 s after them.
		authTokenExpiry(t, jwtEtcdOptionsTTL(t, "6s"), nil, 8*time.Second)
	})
}

// authTokenExpiry is TestAuthTokenExpiry on an etcd started with opts, a
// herald with heraldArgs too; a token is left unused for wait after its
// last use.
func authTokenExpiry(t *testing.T, opts harness.EtcdOptions, heraldArgs []string, wait time.Duration) {
	e := harness.StartEtcd(t, opts)
	eps := e.Endpoints()
	for _, args := range svcAuthSteps("--new-user-password=heraldpw") {
		ctl(t, eps, args...)
	}
	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: eps, ExtraArgs: append(heraldAuthArgs, heraldArgs...)})
	targets := []struct{ name, endpoint string }{{"etcd", eps[0]}, {"herald", h.Endpoint()}}
	answers := make([]string, len(targets))
	for i, target := range targets {
		ctx := harness.Context(t, harness.DefaultPatience+wait)
		// A plain gRPC connection: clientv3's would retry every call that
		// etcd refuses for its token, up to 100 times, with that token.
		conn := dialRaw(t, target.endpoint)
		auth, err := pb.NewAuthClient(conn).Authenticate(ctx, &pb.AuthenticateRequest{Name: "alice", Password: "alicepw"})
		if err != nil {
			t.Fatalf("%s: authenticate: %v", target.name, err)
		}
		actx := metadata.AppendToOutgoingContext(ctx, rpctypes.TokenFieldNameGRPC, auth.Token)
		lc, kv := pb.NewLeaseClient(conn), pb.NewKVClient(conn)
		g, err := lc.LeaseGrant(actx, &pb.LeaseGrantRequest{TTL: 60})
		if err != nil {
			t.Fatalf("%s: grant with a fresh token: %v", target.name, err)
		}
		if _, err := kv.Put(actx, &pb.PutRequest{Key: []byte("/svc/k"), Value: []byte("v"), Lease: g.ID}); err != nil {
			t.Fatalf("%s: put with a fresh token: %v", target.name, err)
		}
		ks, err := lc.LeaseKeepAlive(actx)
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.Send(&pb.LeaseKeepAliveRequest{ID: g.ID}); err != nil {
			t.Fatal(err)
		}
		if ka, err := ks.Recv(); err != nil || ka.TTL <= 0 {
			t.Fatalf("%s: keepalive with a fresh token: %v %v", target.name, ka, err)
		}

		time.Sleep(wait)
		var out []string
		record := func(what string, err error) { out = append(out, fmt.Sprintf("%s: %v", what, err)) }
		_, err = lc.LeaseGrant(actx, &pb.LeaseGrantRequest{TTL: 60})
		record("grant", err)
		_, err = kv.Put(actx, &pb.PutRequest{Key: []byte("/svc/k2"), Value: []byte("v"), Lease: g.ID})
		record("put with the lease", err)
		_, err = lc.LeaseTimeToLive(actx, &pb.LeaseTimeToLiveRequest{ID: g.ID, Keys: true})
		record("timetolive --keys", err)
		_, err = lc.LeaseTimeToLive(actx, &pb.LeaseTimeToLiveRequest{ID: g.ID})
		record("timetolive", err)
		_, err = lc.LeaseRevoke(actx, &pb.LeaseRevokeRequest{ID: g.ID})
		record("revoke", err)
		if err := ks.Send(&pb.LeaseKeepAliveRequest{ID: g.ID}); err == nil {
			_, err = ks.Recv()
			record("keepalive on the open stream", err)
		} else {
			record("keepalive on the open stream (send)", err)
		}
		answers[i] = strings.Join(out, "\n")
	}
	for _, line := range strings.Split(answers[0], "\n") {
		if !strings.HasSuffix(line, rpctypes.ErrGRPCInvalidAuthToken.Error()) {
			t.Errorf("etcd, expired token: %s; want %v", line, rpctypes.ErrGRPCInvalidAuthToken)
		}
	}
	if answers[0] != answers[1] {
		t.Errorf("expired token, through herald:\n%s\nwant etcd's:\n%s", answers[1], answers[0])
	}
}

package proxy

import (
	"context"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
)

func withToken(token string) context.Context {
	return metadata.NewOutgoingContext(context.Background(), metadata.Pairs(rpctypes.TokenFieldNameGRPC, token))
}

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + ".c2lnbmF0dXJl"
}

// TestTokenExpiry: a JWT's exp claim is when herald asks etcd again about
// the keepalives it carries; a simple token, or a JWT without exp or not
// decodable, has none (herald then asks again only at a change to the auth
// store or to the lease's keys).
func TestTokenExpiry(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  context.Context
		want time.Time
	}{
		{"no token", context.Background(), time.Time{}},
		{"simple token", withToken("GqXyRkMbOoZjqjAU.27"), time.Time{}},
		{"JWT", withToken(jwt(`{"username":"alice","revision":3,"exp":1764660000}`)), time.Unix(1764660000, 0)},
		{"JWT with Bearer", withToken("Bearer " + jwt(`{"exp":1764660000}`)), time.Unix(1764660000, 0)},
		{"JWT without exp", withToken(jwt(`{"username":"alice"}`)), time.Time{}},
		{"JWT with a negative exp", withToken(jwt(`{"exp":-5}`)), time.Time{}},
		{"bad base64", withToken("a.%%%.c"), time.Time{}},
		{"bad JSON", withToken(jwt(`{"exp":`)), time.Time{}},
	} {
		if got := tokenExpiry(c.ctx); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestRenewVerdictHolds: a keepalive verdict answers for the same auth
// revision and keys, until the token expires; a verdict at a newer
// revision drops the older ones.
func TestRenewVerdictHolds(t *testing.T) {
	now := time.Unix(1000, 0)
	verdicts := func(until time.Time) renewVerdicts {
		vs := renewVerdicts{}
		vs.record("/svc/a", 7, until)
		return vs
	}
	for _, c := range []struct {
		name string
		vs   renewVerdicts
		rev  uint64
		keys string
		want bool
	}{
		{"same", verdicts(time.Time{}), 7, "/svc/a", true},
		{"the auth store changed", verdicts(time.Time{}), 8, "/svc/a", false},
		{"a key joined the lease", verdicts(time.Time{}), 7, "/svc/a\x00/svc/b", false},
		{"before the token's expiry", verdicts(now.Add(time.Second)), 7, "/svc/a", true},
		{"at the token's expiry", verdicts(now), 7, "/svc/a", false},
	} {
		if got := c.vs.holds(c.keys, c.rev, now); got != c.want {
			t.Errorf("%s: holds = %v, want %v", c.name, got, c.want)
		}
	}
	vs := verdicts(time.Time{})
	vs.record("", 8, time.Time{})
	if vs.holds("/svc/a", 7, now) || !vs.holds("", 8, now) || len(vs) != 1 {
		t.Errorf("after a verdict at revision 8: %v; want only that one", vs)
	}
}

// FuzzTokenExpiry: a client's token is bytes from the network; reading its
// expiry never panics, and a token that is not three dot-separated parts
// has none.
func FuzzTokenExpiry(f *testing.F) {
	f.Add(jwt(`{"exp":1764660000}`))
	f.Add("GqXyRkMbOoZjqjAU.27")
	f.Add("a.b.c")
	f.Add("Bearer ..")
	f.Fuzz(func(t *testing.T, token string) {
		got := tokenExpiry(withToken(token))
		if parts := len(splitDots(token)); parts != 3 && !got.IsZero() {
			t.Fatalf("%q (%d parts): expiry %v", token, parts, got)
		}
	})
}

func splitDots(token string) []string {
	var parts []string
	start := 0
	if len(token) >= 7 && token[:7] == "Bearer " {
		start = 7
	}
	for i := start; i < len(token); i++ {
		if token[i] == '.' {
			parts = append(parts, token[start:i])
			start = i + 1
		}
	}
	return append(parts, token[start:])
}

// gatedAuth is etcd's Auth service whose AuthStatus calls each wait for
// the test to let them through; calls counts them.
type gatedAuth struct {
	pb.AuthClient
	calls   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (g *gatedAuth) AuthStatus(ctx context.Context, in *pb.AuthStatusRequest, opts ...grpc.CallOption) (*pb.AuthStatusResponse, error) {
	g.calls.Add(1)
	g.entered <- struct{}{}
	<-g.release
	return g.AuthClient.AuthStatus(ctx, in, opts...)
}

// TestAuthStateAnswersWhileEtcdIsAsked: one caller at a time asks etcd
// for its auth state; while it waits (AuthStatus is a raft request, slow
// under load), the other callers — every authenticated keepalive — go on
// with the state etcd last gave instead of waiting behind it. Before the
// first answer they wait for it, without asking again. Against a real etcd,
// with its AuthStatus held by the test; herald's clock is manual.
func TestAuthStateAnswersWhileEtcdIsAsked(t *testing.T) {
	emb := embedded.Start(t)
	conn, err := grpc.NewClient(strings.TrimPrefix(emb.Endpoint(), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gate := &gatedAuth{AuthClient: pb.NewAuthClient(conn), entered: make(chan struct{}, 4), release: make(chan struct{})}
	clk := clock.NewManual(time.Now())
	a := &authState{auth: gate, clock: clk}
	ctx := harness.Context(t, harness.DefaultPatience)

	type state struct {
		rev uint64
		err error
	}
	ask := func() <-chan state {
		c := make(chan state, 1)
		go func() { _, rev, err := a.current(ctx); c <- state{rev, err} }()
		return c
	}
	get := func(what string, c <-chan state) state {
		t.Helper()
		select {
		case s := <-c:
			if s.err != nil {
				t.Fatalf("%s: %v", what, s.err)
			}
			return s
		case <-ctx.Done():
			t.Fatalf("%s: no answer by the end of the test's patience", what)
			return state{}
		}
	}
	enter := func(what string) {
		t.Helper()
		select {
		case <-gate.entered:
		case <-ctx.Done():
			t.Fatalf("%s: etcd was not asked", what)
		}
	}

	// Nothing known yet: the first caller asks, the second waits for its answer.
	first := ask()
	enter("first caller")
	second := ask()
	gate.release <- struct{}{}
	s1, s2 := get("first caller", first), get("second caller", second)
	if s1 != s2 || gate.calls.Load() != 1 {
		t.Fatalf("first answers: %+v and %+v after %d AuthStatus calls; want one call, one state", s1, s2, gate.calls.Load())
	}

	// The auth store moves on at etcd; herald's state is stale once its
	// clock passes authPoll. The caller that finds it stale asks etcd, and
	// while etcd has not answered the others get the last state at once.
	if _, err := pb.NewAuthClient(conn).UserAdd(ctx, &pb.AuthUserAddRequest{Name: "alice", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(authPoll)
	asking := ask()
	enter("the caller finding the state stale")
	meanwhile := get("a caller while etcd is asked", ask())
	if meanwhile.rev != s1.rev || gate.calls.Load() != 2 {
		t.Fatalf("while etcd is asked: revision %d after %d AuthStatus calls; want the last known %d, no other call", meanwhile.rev, gate.calls.Load(), s1.rev)
	}
	gate.release <- struct{}{}
	fresh := get("the asking caller", asking)
	if fresh.rev <= s1.rev {
		t.Fatalf("after alice was added: revision %d, want more than %d", fresh.rev, s1.rev)
	}
	if after := get("a caller after the answer", ask()); after.rev != fresh.rev || gate.calls.Load() != 2 {
		t.Fatalf("after the answer: revision %d after %d calls; want %d from the state just read", after.rev, gate.calls.Load(), fresh.rev)
	}
}

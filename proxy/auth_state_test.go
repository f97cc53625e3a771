package proxy

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"
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

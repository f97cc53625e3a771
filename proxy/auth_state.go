package proxy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"
)

// authPoll is how old etcd's auth state may be when a keepalive's verdict
// is reused: herald asks AuthStatus (as its own user) at most this often,
// and only while keepalives of authenticated clients need it.
const authPoll = 500 * time.Millisecond

// authState follows whether etcd has auth on and its auth store's
// revision, which moves with every change to users, roles and permissions.
// A keepalive verdict (renewVerdicts) holds while the revision stays.
type authState struct {
	auth pb.AuthClient

	mu      sync.Mutex // held across the AuthStatus call: callers share one
	at      time.Time  // when etcd last answered; zero: never
	enabled bool
	rev     uint64
}

// current returns etcd's auth state, at most authPoll old.
func (a *authState) current(ctx context.Context) (enabled bool, rev uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.at.IsZero() && time.Since(a.at) < authPoll {
		return a.enabled, a.rev, nil
	}
	resp, err := a.auth.AuthStatus(asHerald(ctx), &pb.AuthStatusRequest{})
	if err != nil {
		return false, 0, err
	}
	a.at, a.enabled, a.rev = time.Now(), resp.Enabled, resp.AuthRevision
	return a.enabled, a.rev, nil
}

// renewVerdicts are etcd's answers to one client stream's keepalives
// (checkLeaseRenew: a valid token, and write permission on every key on the
// lease unless the user is an admin), by the lease's keys (joined). The
// answer depends on nothing else: leases without keys share one, and a
// lease whose keys change is asked about again.
type renewVerdicts map[string]renewVerdict

// renewVerdict is one of them: a permit, and when it was given.
type renewVerdict struct {
	rev   uint64    // the auth store's revision when it was asked
	until time.Time // the token's expiry, for a JWT; zero: none known
}

// holds reports whether etcd permitted renewing a lease with keys at auth
// revision rev, and the token has not expired since.
func (vs renewVerdicts) holds(keys string, rev uint64, now time.Time) bool {
	v, ok := vs[keys]
	return ok && v.rev == rev && (v.until.IsZero() || now.Before(v.until))
}

// record keeps etcd's permit for keys at rev; permits given at another
// revision no longer hold, and go.
func (vs renewVerdicts) record(keys string, rev uint64, until time.Time) {
	for k, v := range vs {
		if v.rev != rev {
			delete(vs, k)
		}
	}
	vs[keys] = renewVerdict{rev: rev, until: until}
}

// tokenExpiry is the expiry of a JWT token in ctx's outgoing metadata
// (etcd checks the signature; herald only needs to know when to ask
// again), zero for a simple token or none.
func tokenExpiry(ctx context.Context) time.Time {
	md, _ := metadata.FromOutgoingContext(ctx)
	v := md.Get(rpctypes.TokenFieldNameGRPC)
	if len(v) == 0 {
		return time.Time{}
	}
	parts := strings.Split(strings.TrimPrefix(v[0], "Bearer "), ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(claims.Exp), 0)
}

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
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/internal/clock"
)

// authPoll is how old etcd's auth state may be when a keepalive's verdict
// is reused: herald asks AuthStatus (as its own user) at most this often,
// and only while keepalives of authenticated clients need it.
const authPoll = 500 * time.Millisecond

// authState follows whether etcd has auth on and its auth store's
// revision, which moves with every change to users, roles and permissions.
// A keepalive verdict (renewVerdicts) holds while the revision stays.
//
// One caller at a time asks etcd; while it does, the others go on with
// the state etcd last gave (they wait only before the first answer). Under
// a heavy write load AuthStatus, a raft request, can take seconds, and
// every keepalive of an authenticated client needs the state: none waits
// behind another's question. A change to the auth store therefore takes
// effect here at most authPoll plus one AuthStatus after etcd applied it.
type authState struct {
	auth  pb.AuthClient
	clock clock.Clock

	mu      sync.Mutex    // never held across a call to etcd
	at      time.Time     // when etcd last answered; zero: never
	enabled bool          // etcd's answer at at
	rev     uint64        // etcd's answer at at
	asking  chan struct{} // closed when the caller asking etcd has its answer; nil: none asks
}

// current returns etcd's auth state, at most authPoll old, or the last one
// etcd gave while another caller asks for a newer one.
func (a *authState) current(ctx context.Context) (enabled bool, rev uint64, err error) {
	a.mu.Lock()
	for {
		known := !a.at.IsZero()
		if known && (a.asking != nil || a.clock.Now().Sub(a.at) < authPoll) {
			defer a.mu.Unlock()
			return a.enabled, a.rev, nil
		}
		if a.asking == nil {
			break
		}
		// Nothing known yet: wait for the first answer.
		asking := a.asking
		a.mu.Unlock()
		select {
		case <-asking:
		case <-ctx.Done():
			return false, 0, status.FromContextError(ctx.Err()).Err()
		}
		a.mu.Lock()
	}
	asking := make(chan struct{})
	a.asking = asking
	a.mu.Unlock()

	resp, err := a.auth.AuthStatus(asHerald(ctx), &pb.AuthStatusRequest{})

	a.mu.Lock()
	defer a.mu.Unlock()
	a.asking = nil
	close(asking)
	if err != nil {
		return false, 0, err
	}
	a.at, a.enabled, a.rev = a.clock.Now(), resp.Enabled, resp.AuthRevision
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

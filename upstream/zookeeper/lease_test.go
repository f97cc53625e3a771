package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

func leasePut(k, v string, lease int64) *pb.PutRequest {
	return &pb.PutRequest{Key: []byte(k), Value: []byte(v), Lease: lease}
}

// keysOf lists a range's keys.
func keysOf(t *testing.T, c *Client, key, end string) []string {
	t.Helper()
	resp, err := c.Range(context.Background(), rng(key, end))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

func sameError(got, want error) bool {
	if got == nil || want == nil {
		return got == want
	}
	g, _ := status.FromError(got)
	w, _ := status.FromError(want)
	return g.Code() == w.Code() && g.Message() == w.Message()
}

// TestLeaseAnswersAsEtcd asks a real etcd and the adapter the same lease
// calls and compares what a client sees: the TTL granted (etcd's minimum
// included), the errors (codes and messages), TimeToLive of a lease that
// does not exist, and a put on a lease that does not.
func TestLeaseAnswersAsEtcd(t *testing.T) {
	c := dialZK(t, nil, "")
	etcdKV(t) // starts the shared etcd
	el := pb.NewLeaseClient(sharedEtcd.conn)
	ek := pb.NewKVClient(sharedEtcd.conn)
	ctx := context.Background()
	base := time.Now().UnixNano() & (1<<40 - 1)
	type store struct {
		grant func(*pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error)
		ttl   func(*pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error)
		put   func(*pb.PutRequest) (*pb.PutResponse, error)
	}
	stores := map[string]store{
		"etcd": {
			grant: func(r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) { return el.LeaseGrant(ctx, r) },
			ttl: func(r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
				return el.LeaseTimeToLive(ctx, r)
			},
			put: func(r *pb.PutRequest) (*pb.PutResponse, error) { return ek.Put(ctx, r) },
		},
		"zookeeper": {
			grant: func(r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) { return c.Grant(ctx, r) },
			ttl:   func(r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) { return c.TimeToLive(ctx, r) },
			put:   func(r *pb.PutRequest) (*pb.PutResponse, error) { return c.Put(ctx, r) },
		},
	}
	answers := map[string][]string{}
	for name, s := range stores {
		var got []string
		say := func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }
		id := base + 1
		if name == "zookeeper" {
			id = base + 2 // both stores get IDs of their own; answers compare by shape
		}
		g, err := s.grant(&pb.LeaseGrantRequest{ID: id, TTL: 1})
		say("grant ttl 1: id ok=%v ttl=%d err=%v", err == nil && g.ID == id, g.GetTTL(), err)
		_, err = s.grant(&pb.LeaseGrantRequest{ID: id, TTL: 5})
		say("grant again: %v", err)
		_, err = s.grant(&pb.LeaseGrantRequest{TTL: 9_000_000_001})
		say("grant too long: %v", err)
		tl, err := s.ttl(&pb.LeaseTimeToLiveRequest{ID: id + 1000})
		say("ttl of none: ttl=%d granted=%d err=%v", tl.GetTTL(), tl.GetGrantedTTL(), err)
		_, err = s.put(leasePut("k", "v", id+1000))
		say("put on none: %v", err)
		_, err = s.put(&pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: id})
		say("put on it: %v", err)
		tl, err = s.ttl(&pb.LeaseTimeToLiveRequest{ID: id, Keys: true})
		say("ttl with keys: granted=%d keys=%q err=%v", tl.GetGrantedTTL(), tl.GetKeys(), err)
		answers[name] = got
	}
	if fmt.Sprint(answers["etcd"]) != fmt.Sprint(answers["zookeeper"]) {
		t.Errorf("answers differ:\netcd      %q\nzookeeper %q", answers["etcd"], answers["zookeeper"])
	}
	for _, a := range []error{rpctypes.ErrGRPCLeaseExist, rpctypes.ErrGRPCLeaseNotFound} {
		if !slices.ContainsFunc(answers["zookeeper"], func(s string) bool { return strings.HasSuffix(s, a.Error()) }) {
			t.Errorf("no answer was %v: %q", a, answers["zookeeper"])
		}
	}
}

// TestLeaseKeysAndRevoke: a lease's keys are exactly the keys last put
// with it (a key moved to another lease, or put without one, leaves it; a
// deleted key leaves it), and a revoke deletes exactly those, leaving
// every other key (another lease's, and keys without a lease).
func TestLeaseKeysAndRevoke(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	grant := func(ttl int64) int64 {
		t.Helper()
		g, err := c.Grant(ctx, &pb.LeaseGrantRequest{TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return g.ID
	}
	a, b := grant(60), grant(60)
	for _, w := range []*pb.PutRequest{
		leasePut("/svc/a/1", "x", a), leasePut("/svc/a/2", "x", a), leasePut("/svc/a/3", "x", a),
		leasePut("/svc/moved", "x", a), leasePut("/svc/moved", "y", b), // moves to b
		leasePut("/svc/freed", "x", a), leasePut("/svc/freed", "y", 0), // leaves a
		leasePut("/svc/b/1", "x", b), leasePut("/plain", "x", 0),
		{Key: []byte("/svc/a/1"), Value: []byte("z"), IgnoreLease: true}, // stays on a
	} {
		if _, err := c.Put(ctx, w); err != nil {
			t.Fatalf("put %q: %v", w.Key, err)
		}
	}
	if _, err := c.DeleteRange(ctx, &pb.DeleteRangeRequest{Key: []byte("/svc/a/3")}); err != nil {
		t.Fatal(err)
	}
	keysOfLease := func(id int64) []string {
		t.Helper()
		r, err := c.TimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: id, Keys: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range r.Keys {
			out = append(out, string(k))
		}
		slices.Sort(out)
		return out
	}
	if got, want := keysOfLease(a), []string{"/svc/a/1", "/svc/a/2"}; !slices.Equal(got, want) {
		t.Errorf("lease a's keys: %q, want %q", got, want)
	}
	if got, want := keysOfLease(b), []string{"/svc/b/1", "/svc/moved"}; !slices.Equal(got, want) {
		t.Errorf("lease b's keys: %q, want %q", got, want)
	}
	if _, err := c.Revoke(ctx, &pb.LeaseRevokeRequest{ID: a}); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(t, c, "/", "0"), []string{"/plain", "/svc/b/1", "/svc/freed", "/svc/moved"}; !slices.Equal(got, want) {
		t.Errorf("after revoking a: keys %q, want %q", got, want)
	}
	if _, err := c.Revoke(ctx, &pb.LeaseRevokeRequest{ID: a}); !sameError(err, rpctypes.ErrGRPCLeaseNotFound) {
		t.Errorf("revoking a again: %v, want %v", err, rpctypes.ErrGRPCLeaseNotFound)
	}
	if _, err := c.Put(ctx, leasePut("/late", "x", a)); !sameError(err, rpctypes.ErrGRPCLeaseNotFound) {
		t.Errorf("put on revoked a: %v, want %v", err, rpctypes.ErrGRPCLeaseNotFound)
	}
	ls, err := c.Leases(ctx, &pb.LeaseLeasesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Leases) != 1 || ls.Leases[0].ID != b {
		t.Errorf("leases after revoking a: %v, want only %x", ls.Leases, b)
	}
}

// TestLeaseKeepAliveStream: answers come in order, with the TTL granted,
// or 0 for a lease that does not exist; CloseSend ends the stream with
// io.EOF after the answers.
func TestLeaseKeepAliveStream(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	g, err := c.Grant(ctx, &pb.LeaseGrantRequest{TTL: 7})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.KeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{g.ID, g.ID + 1, g.ID}
	for _, id := range ids {
		if err := k.KeepAlive(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		r, err := k.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%x:%d", r.ID, r.TTL))
	}
	want := []string{fmt.Sprintf("%x:7", g.ID), fmt.Sprintf("%x:0", g.ID+1), fmt.Sprintf("%x:7", g.ID)}
	if !slices.Equal(got, want) {
		t.Errorf("answers %q, want %q", got, want)
	}
}

// TestLeaseExpiresWithoutItsHerald: a lease granted by one herald's
// client, which then goes away, expires at another's sweep: its keys go,
// a lease that another client keeps alive stays with its keys. Every
// client sweeps; none needs the one that granted the lease.
func TestLeaseExpiresWithoutItsHerald(t *testing.T) {
	z := harness.SharedZooKeeper(t)
	chroot := fmt.Sprintf("/lease-expiry-%d", chroots.Add(1))
	dial := func() *Client {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
		defer cancel()
		c, err := Dial(ctx, Config{URL: z.URL(chroot), SessionTimeout: 4 * time.Second, LeaseSweepInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	gone, survivor := dial(), dial()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dead, err := gone.Grant(ctx, &pb.LeaseGrantRequest{TTL: 2})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := survivor.Grant(ctx, &pb.LeaseGrantRequest{TTL: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for _, w := range []*pb.PutRequest{
			leasePut(fmt.Sprintf("/rack/dead/%d", i), "x", dead.ID),
			leasePut(fmt.Sprintf("/rack/kept/%d", i), "x", kept.ID),
		} {
			if _, err := survivor.Put(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	gone.Close()
	k, err := survivor.KeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	renewals := make(chan error, 1)
	go func() {
		for {
			err := k.KeepAlive(kept.ID)
			var r *pb.LeaseKeepAliveResponse
			if err == nil {
				r, err = k.Recv()
			}
			if ctx.Err() != nil {
				renewals <- nil // the test is over
				return
			}
			if err != nil || r.TTL == 0 {
				renewals <- fmt.Errorf("renewal: ttl %d, %v", r.GetTTL(), err)
				return
			}
			select {
			case <-ctx.Done():
				renewals <- nil
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	harness.WaitUntil(t, "the dead herald's lease expires", harness.DefaultPatience, func() bool {
		return len(keysOf(t, survivor, "/rack/dead/", "/rack/dead0")) == 0
	})
	// A probe lease granted now, never renewed, and expired: a sweep
	// that finds it expired finds expired every lease renewed last
	// before it was granted (the same clock, the same TTL), so the kept
	// lease's keys outlive it only because they are renewed.
	probe, err := survivor.Grant(ctx, &pb.LeaseGrantRequest{TTL: 2})
	if err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, "the probe lease expires", harness.DefaultPatience, func() bool {
		r, err := survivor.TimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: probe.ID})
		return err == nil && r.TTL == -1
	})
	if got := keysOf(t, survivor, "/rack/kept/", "/rack/kept0"); len(got) != 3 {
		t.Errorf("the kept lease's keys: %q", got)
	}
	cancel()
	if err := <-renewals; err != nil {
		t.Fatal(err)
	}
	r, err := survivor.TimeToLive(context.Background(), &pb.LeaseTimeToLiveRequest{ID: dead.ID})
	if err != nil || r.TTL != -1 {
		t.Errorf("TimeToLive of the expired lease: %v, %v; want TTL -1", r, err)
	}
}

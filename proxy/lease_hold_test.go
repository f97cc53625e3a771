package proxy_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/tests/harness"
)

// TestHeldLeaseCallsEndOnHeraldsClock: a lease call about a lease whose
// owner cannot be reached is held, and ends when herald's clock (the
// offloader's) passes the hold timeout, not before: a unary call with
// etcd's "connection lost" error, a keepalive without an answer, the
// client's stream going on. Herald b runs on a manual clock with a hold
// timeout of an hour, so the test moves the clock instead of waiting.
func TestHeldLeaseCallsEndOnHeraldsClock(t *testing.T) {
	e := startEtcd(t)
	// Herald a owns the lease and advertises an address where nothing
	// listens: b finds the owner but cannot reach it.
	nowhere, err := harness.TakeFreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	e.startHeraldWith(t, func(o *heraldOptions) {
		o.Name, o.Offload, o.AdvertiseClientURLs = "a", defaultOffload(), []string{"http://" + nowhere}
	})
	ctx := harness.Context(t, harness.DefaultPatience)
	l, err := e.viaHerald.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}

	const hold = time.Hour
	clk := clock.NewManual(time.Now())
	reg := prometheus.NewRegistry()
	b := &env{etcdURL: e.etcdURL, direct: e.direct}
	b.startHeraldWith(t, func(o *heraldOptions) {
		oo := defaultOffload()
		oo.Clock, oo.HoldTimeout = clk, hold
		o.Name, o.Offload, o.Registerer = "b", oo, reg
	})
	conn, err := grpc.NewClient(b.proxyAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leases := pb.NewLeaseClient(conn)

	// until moves b's clock a twentieth of the hold timeout at a time until
	// done reports true, and returns how far it moved it.
	until := func(what string, done func() bool) time.Duration {
		t.Helper()
		start := clk.Now()
		at := harness.AdvanceUntil(t, clk, hold/20, what, harness.DefaultPatience, done)
		if ctx.Err() != nil { // the stream's end can look like the answer
			t.Fatalf("%s: not by the end of the test's patience (clock moved %v)", what, at.Sub(start))
		}
		return at.Sub(start)
	}
	waiting := func() float64 {
		v, _ := metricValue(t, reg, "herald_lease_calls_waiting")
		return v
	}
	waitHeld := func(n float64) {
		t.Helper()
		harness.WaitUntil(t, fmt.Sprintf("herald_lease_calls_waiting = %v", n), harness.DefaultPatience,
			func() bool { return waiting() == n })
	}

	// A unary call: held, then etcd's error once the clock passes the hold.
	type result struct {
		resp *pb.LeaseTimeToLiveResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		r, err := leases.LeaseTimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: int64(l.ID)})
		done <- result{r, err}
	}()
	waitHeld(1)
	var got result
	moved := until("TimeToLive to end", func() bool {
		select {
		case got = <-done:
			return true
		default:
			return false
		}
	})
	if !errors.Is(rpctypes.Error(got.err), rpctypes.ErrTimeoutDueToConnectionLost) {
		t.Fatalf("held TimeToLive: %v %v, want %v", got.resp, got.err, rpctypes.ErrTimeoutDueToConnectionLost)
	}
	if moved < hold {
		t.Fatalf("held TimeToLive ended after %v of herald's clock, before the hold timeout (%v)", moved, hold)
	}
	waitHeld(0)

	// A keepalive: held, then dropped unanswered; the stream goes on and
	// answers the next keepalive, of a lease b holds.
	ka, err := leases.LeaseKeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ka.Send(&pb.LeaseKeepAliveRequest{ID: int64(l.ID)}); err != nil {
		t.Fatal(err)
	}
	waitHeld(1)
	moved = until("the held keepalive to be dropped", func() bool { return waiting() == 0 })
	if moved < hold {
		t.Fatalf("held keepalive dropped after %v of herald's clock, before the hold timeout (%v)", moved, hold)
	}
	own, err := leases.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: 60})
	if err != nil {
		t.Fatal(err)
	}
	if err := ka.Send(&pb.LeaseKeepAliveRequest{ID: own.ID}); err != nil {
		t.Fatal(err)
	}
	first, err := ka.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != own.ID || first.TTL != 60 {
		t.Fatalf("first keepalive answer on the stream: %+v, want lease %x with TTL 60 (the held one unanswered)", first, own.ID)
	}
}

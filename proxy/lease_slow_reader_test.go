package proxy_test

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldproj/herald/tests/harness"
)

// TestSlowReaderKeepsItsLeases: a client that sends its keepalives in time
// but reads the answers slowly — a process busy with something else, as a
// node is that also watches a burst of events — keeps its leases. herald
// renews a lease when it reads the keepalive, and the answers wait for the
// client (one per lease, the latest) without holding back the reading:
// once gRPC's flow-control window to the client is full, a stream that
// answered each keepalive before reading the next would stop reading, and
// its leases would expire with their keepalives queued unread.
func TestSlowReaderKeepsItsLeases(t *testing.T) {
	e := startEtcd(t)
	opts := defaultOffload()
	opts.MaxIntakeLag = time.Second
	e.startHerald(t, "h", opts)
	ctx := harness.Context(t, harness.DefaultPatience)
	conn, err := grpc.NewClient(e.proxyAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leases := pb.NewLeaseClient(conn)

	const n, ttl = 300, 2
	ids := make([]int64, n)
	for i := range ids {
		g, err := leases.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = g.ID
	}
	ka, err := leases.LeaseKeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every lease four times a TTL, for three TTLs, reading no answer:
	// 1800 answers, more than the stream's 64 KiB window holds.
	sent := make(chan error, 1)
	go func() {
		tick := time.NewTicker(ttl * time.Second / 4)
		defer tick.Stop()
		for range 12 {
			for _, id := range ids {
				if err := ka.Send(&pb.LeaseKeepAliveRequest{ID: id}); err != nil {
					sent <- err
					return
				}
			}
			<-tick.C
		}
		sent <- nil
	}()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("keepalives not sent by the end of the test's patience: herald stopped reading them")
	}
	for _, id := range ids {
		r, err := leases.LeaseTimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if r.TTL <= 0 {
			t.Fatalf("lease %x: TTL %d after three TTLs of keepalives sent in time, their answers unread", id, r.TTL)
		}
	}
	// The answers are there for the client when it reads: the latest of
	// each lease, with its TTL.
	seen := map[int64]bool{}
	for len(seen) < n {
		r, err := ka.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r.TTL != ttl {
			t.Fatalf("answer %+v, want TTL %d", r, ttl)
		}
		seen[r.ID] = true
	}
}

package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/tests/harness"
)

// TestRelayedUnaryCallsAnswerAsEtcd: with the direct path cut, Put and
// Range go through the peer, and a relayed Range answers exactly what etcd
// answers directly (header, kvs, count, and gRPC header metadata).
func TestRelayedUnaryCallsAnswerAsEtcd(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	f.cutDirect(t)
	kv := pb.NewKVClient(f.sw)
	key := uniqueKey(t)

	put, err := kv.Put(ctx, &pb.PutRequest{Key: key, Value: []byte("v1")})
	if err != nil {
		t.Fatalf("relayed put: %v", err)
	}
	if put.Header.GetRevision() == 0 {
		t.Fatalf("put header %v", put.Header)
	}

	var relayedMD, directMD metadata.MD
	got, err := kv.Range(ctx, &pb.RangeRequest{Key: key}, grpc.Header(&relayedMD))
	if err != nil {
		t.Fatalf("relayed range: %v", err)
	}
	want, err := pb.NewKVClient(f.etcd).Range(ctx, &pb.RangeRequest{Key: key}, grpc.Header(&directMD))
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("relayed range %v\n  etcd's own %v", got, want)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v1" || got.Kvs[0].ModRevision != put.Header.Revision {
		t.Fatalf("relayed range sees %v after put at %d", got.Kvs, put.Header.Revision)
	}
	delete(relayedMD, "content-type") // the codec of each hop
	delete(directMD, "content-type")
	if !equalMD(relayedMD, directMD) {
		t.Fatalf("header metadata relayed %v, direct %v", relayedMD, directMD)
	}
	if st := f.sw.Stats(); st.RelayedCalls != 2 || st.DirectCalls != 0 {
		t.Fatalf("stats %+v: want 2 relayed calls, none direct", st)
	}
}

func equalMD(a, b metadata.MD) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w := b[k]
		if len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	return true
}

// TestRelayedErrorsAreEtcds: etcd's refusals cross the relay with their
// code and message unchanged.
func TestRelayedErrorsAreEtcds(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	f.cutDirect(t)
	key := uniqueKey(t)
	etcdKV := pb.NewKVClient(f.etcd)
	first, err := etcdKV.Put(ctx, &pb.PutRequest{Key: key, Value: []byte("1")})
	if err != nil {
		t.Fatal(err)
	}
	last, err := etcdKV.Put(ctx, &pb.PutRequest{Key: key, Value: []byte("2")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcdKV.Compact(ctx, &pb.CompactionRequest{Revision: last.Header.Revision, Physical: true}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		call    func(conn grpc.ClientConnInterface) error
		code    codes.Code
		message string
	}{
		{"compacted revision", func(conn grpc.ClientConnInterface) error {
			_, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: key, Revision: first.Header.Revision})
			return err
		}, codes.OutOfRange, "etcdserver: mvcc: required revision has been compacted"},
		{"future revision", func(conn grpc.ClientConnInterface) error {
			_, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: key, Revision: last.Header.Revision + 1_000_000})
			return err
		}, codes.OutOfRange, "etcdserver: mvcc: required revision is a future revision"},
		{"unknown lease", func(conn grpc.ClientConnInterface) error {
			_, err := pb.NewLeaseClient(conn).LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: 0x0123456789})
			return err
		}, codes.NotFound, "etcdserver: requested lease not found"},
	} {
		relayed, direct := status.Convert(tc.call(f.sw)), status.Convert(tc.call(f.etcd))
		if relayed.Code() != tc.code || relayed.Message() != tc.message {
			t.Errorf("%s: relayed %v %q, want %v %q", tc.name, relayed.Code(), relayed.Message(), tc.code, tc.message)
		}
		if !proto.Equal(relayed.Proto(), direct.Proto()) {
			t.Errorf("%s: relayed %v, etcd's own %v", tc.name, relayed.Proto(), direct.Proto())
		}
	}
}

// TestRelayedWatch: a bidirectional stream through the relay creates a
// watch, receives an event, keeps receiving after the caller half-closes,
// and is cancelled by the caller's request.
func TestRelayedWatch(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	f.cutDirect(t)
	key := uniqueKey(t)
	etcdKV := pb.NewKVClient(f.etcd)

	w, err := pb.NewWatchClient(f.sw).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: key, PrevKv: true}}}); err != nil {
		t.Fatal(err)
	}
	created, err := w.Recv()
	if err != nil || !created.Created {
		t.Fatalf("create: %v %v", created, err)
	}
	for i, v := range []string{"a", "b"} {
		put, err := etcdKV.Put(ctx, &pb.PutRequest{Key: key, Value: []byte(v)})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := w.Recv()
		if err != nil || len(ev.Events) != 1 || ev.WatchId != created.WatchId {
			t.Fatalf("event %d: %v %v", i, ev, err)
		}
		e := ev.Events[0]
		if e.Type != mvccpb.PUT || string(e.Kv.Value) != v || e.Kv.ModRevision != put.Header.Revision || (i == 1) != (e.PrevKv != nil) {
			t.Fatalf("event %d: %v after put at %d", i, e, put.Header.Revision)
		}
		if i == 0 {
			// A half-close must reach etcd as one, not end the stream.
			if err := w.CloseSend(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := f.sw.Stats(); st.RelayedCalls != 1 {
		t.Fatalf("stats %+v: want one relayed call", st)
	}

	// A second stream, cancelled by the client's own request.
	w2, err := pb.NewWatchClient(f.sw).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: key}}}); err != nil {
		t.Fatal(err)
	}
	c2, err := w2.Recv()
	if err != nil || !c2.Created {
		t.Fatalf("create: %v %v", c2, err)
	}
	if err := w2.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: c2.WatchId}}}); err != nil {
		t.Fatal(err)
	}
	canceled, err := w2.Recv()
	if err != nil || !canceled.Canceled || canceled.WatchId != c2.WatchId {
		t.Fatalf("cancel: %v %v", canceled, err)
	}
}

// TestRelayedSnapshotIsBitExact: a server stream of raw database bytes
// arrives whole; etcd's trailing SHA-256 proves every frame is intact.
func TestRelayedSnapshotIsBitExact(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	f.cutDirect(t)
	s, err := pb.NewMaintenanceClient(f.sw).Snapshot(ctx, &pb.SnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for {
		resp, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		blobs = append(blobs, resp.Blob)
	}
	if len(blobs) < 2 {
		t.Fatalf("snapshot of %d messages", len(blobs))
	}
	h := sha256.New()
	for _, b := range blobs[:len(blobs)-1] {
		h.Write(b)
	}
	if !bytes.Equal(h.Sum(nil), blobs[len(blobs)-1]) {
		t.Fatal("snapshot bytes do not match etcd's checksum")
	}
}

// TestRelayedLeaseKeepAlive: grant, keep alive on a stream, half-close (the
// stream then ends cleanly, as etcd ends it), revoke — all through the
// relay.
func TestRelayedLeaseKeepAlive(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	f.cutDirect(t)
	lc := pb.NewLeaseClient(f.sw)
	grant, err := lc.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: 30})
	if err != nil || grant.Error != "" {
		t.Fatalf("grant: %v %v", grant, err)
	}
	ka, err := lc.LeaseKeepAlive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := ka.Send(&pb.LeaseKeepAliveRequest{ID: grant.ID}); err != nil {
			t.Fatal(err)
		}
		resp, err := ka.Recv()
		if err != nil || resp.ID != grant.ID || resp.TTL != 30 {
			t.Fatalf("keepalive %d: %v %v", i, resp, err)
		}
	}
	if err := ka.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if resp, err := ka.Recv(); err != io.EOF {
		t.Fatalf("after half-close: %v %v, want the stream's end", resp, err)
	}
	ttl, err := pb.NewLeaseClient(f.etcd).LeaseTimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: grant.ID})
	if err != nil || ttl.TTL <= 0 {
		t.Fatalf("etcd sees the lease as %v %v", ttl, err)
	}
	if _, err := lc.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: grant.ID}); err != nil {
		t.Fatal(err)
	}
}

// TestRelayedCallsInParallel: concurrent unary calls and streams share
// the peer connection (run under -race).
func TestRelayedCallsInParallel(t *testing.T) {
	f := newFixture(t)
	ctx := harness.Context(t, waitLimit)
	f.cutDirect(t)
	var g errgroup.Group
	for i := range 8 {
		g.Go(func() error {
			key := uniqueKey(t)
			var firstRev int64
			for j := range 10 {
				put, err := pb.NewKVClient(f.sw).Put(ctx, &pb.PutRequest{Key: key, Value: []byte{byte(j)}})
				if err != nil {
					return err
				}
				if j == 0 {
					firstRev = put.Header.Revision
				}
				got, err := pb.NewKVClient(f.sw).Range(ctx, &pb.RangeRequest{Key: key})
				if err != nil {
					return err
				}
				if len(got.Kvs) != 1 || got.Kvs[0].ModRevision != put.Header.Revision {
					return fmt.Errorf("worker %d: range %v after put at %d", i, got.Kvs, put.Header.Revision)
				}
			}
			w, err := pb.NewWatchClient(f.sw).Watch(ctx)
			if err != nil {
				return err
			}
			if err := w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: key, StartRevision: firstRev}}}); err != nil {
				return err
			}
			seen := 0
			for seen < 10 {
				r, err := w.Recv()
				if err != nil {
					return err
				}
				if r.Canceled {
					return fmt.Errorf("worker %d: watch cancelled: %v", i, r)
				}
				seen += len(r.Events)
			}
			return w.CloseSend()
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if st := f.sw.Stats(); st.RelayedCalls != 8*21 || st.DirectCalls != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCallerGoneEndsUpstreamStream: when the relaying herald abandons a
// relayed watch, the peer's stream to etcd ends too (etcd's own gauge of
// watch streams says so), and no goroutine is left (harness.VerifyNoLeaks).
func TestCallerGoneEndsUpstreamStream(t *testing.T) {
	f := newFixture(t)
	f.cutDirect(t)
	before := watchStreams(t)
	ctx, cancel := context.WithCancel(harness.Context(t, waitLimit))
	w, err := pb.NewWatchClient(f.sw).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: uniqueKey(t)}}}); err != nil {
		t.Fatal(err)
	}
	if r, err := w.Recv(); err != nil || !r.Created {
		t.Fatalf("create: %v %v", r, err)
	}
	if n := watchStreams(t); n <= before {
		t.Fatalf("etcd counts %v watch streams with the relayed one open, %v before", n, before)
	}
	cancel()
	if _, err := w.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("after cancel: %v", err)
	}
	harness.WaitUntil(t, "etcd to end the relayed watch stream", harness.DefaultPatience, func() bool { return watchStreams(t) <= before })
}

// watchStreams reads etcd's gauge of open watch streams; the embedded
// member registers its metrics in this process's default registry.
func watchStreams(t *testing.T) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == "etcd_debugging_mvcc_watch_stream_total" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("etcd's watch stream gauge is not registered")
	return 0
}

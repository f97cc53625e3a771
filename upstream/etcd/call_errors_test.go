package etcd

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
)

// errorCounts reads every code's count.
func errorCounts(e *callErrors) map[string]float64 {
	out := map[string]float64{}
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		out[c.String()] = testutil.ToFloat64(e.vec.WithLabelValues(c.String()))
	}
	return out
}

// onlyCounted checks that counts holds want and zero for every other code.
func onlyCounted(t *testing.T, counts, want map[string]float64) {
	t.Helper()
	for code, n := range counts {
		if n != want[code] {
			t.Errorf("%s: %v errors counted, want %v", code, n, want[code])
		}
	}
}

// TestCallErrorsByCode: a failed call counts under its code (an error
// without a status as Unknown); a success, or a failure of a call its
// caller cancelled, counts nothing.
func TestCallErrorsByCode(t *testing.T) {
	e := newCallErrors()
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	e.observe(ctx, nil)
	e.observe(ctx, status.Error(codes.Unavailable, "etcdserver: no leader"))
	e.observe(ctx, status.Error(codes.Unavailable, "connection refused"))
	e.observe(ctx, status.Error(codes.NotFound, "etcdserver: requested lease not found"))
	e.observe(ctx, errors.New("not a status"))
	e.observe(cancelled, status.Error(codes.Canceled, "context canceled"))
	onlyCounted(t, errorCounts(e), map[string]float64{"Unavailable": 2, "NotFound": 1, "Unknown": 1})
	if n := testutil.CollectAndCount(e.vec); n != int(codes.Unauthenticated) {
		t.Errorf("%d series, want one per error code (%d) from the start", n, codes.Unauthenticated)
	}
}

// fakeStream is a client stream whose RecvMsg returns errs in turn.
type fakeStream struct {
	grpc.ClientStream
	errs []error
}

func (s *fakeStream) RecvMsg(any) error {
	err := s.errs[0]
	if len(s.errs) > 1 {
		s.errs = s.errs[1:]
	}
	return err
}

// TestStreamErrorsCountedOnce: the error that ends a stream counts once,
// however often RecvMsg returns it after; a stream that ends with io.EOF,
// or that fails to open, counts as a plain call does.
func TestStreamErrorsCountedOnce(t *testing.T) {
	o := observer{open: newInflight(), errs: newCallErrors()}
	ctx := context.Background()
	open := func(s grpc.ClientStream, err error) grpc.ClientStream {
		cs, err := o.stream(ctx, &grpc.StreamDesc{}, nil, "/etcdserverpb.Watch/Watch", func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
			return s, err
		})
		if err != nil {
			return nil
		}
		return cs
	}
	failing := open(&fakeStream{errs: []error{nil, status.Error(codes.Unavailable, "transport is closing")}}, nil)
	for range 3 {
		_ = failing.RecvMsg(nil)
	}
	ended := open(&fakeStream{errs: []error{nil, io.EOF}}, nil)
	for range 3 {
		_ = ended.RecvMsg(nil)
	}
	if open(nil, status.Error(codes.DeadlineExceeded, "context deadline exceeded")) != nil {
		t.Fatal("a stream that failed to open was returned")
	}
	onlyCounted(t, errorCounts(o.errs), map[string]float64{"Unavailable": 1, "DeadlineExceeded": 1})
}

// TestUpstreamErrorsOfARealEtcd: an error etcd answers is counted on the
// registry given to Dial, under its code.
func TestUpstreamErrorsOfARealEtcd(t *testing.T) {
	emb, err := embedetcd.Start(embedetcd.Config{DataDir: filepath.Join(t.TempDir(), "d"), ClientAddr: harness.FreeAddr(t), PeerAddr: harness.FreeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	reg := prometheus.NewRegistry()
	c, err := Dial(Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Revoke(ctx, &pb.LeaseRevokeRequest{ID: 0x7fff_0000_0000_0001}); status.Code(err) != codes.NotFound {
		t.Fatalf("revoking a lease etcd does not have: %v", err)
	}
	if _, err := c.Range(ctx, &pb.RangeRequest{Key: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "herald_upstream_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if len(counts) != int(codes.Unauthenticated) {
		t.Fatalf("the registry has %d codes of herald_upstream_errors_total, want %d", len(counts), codes.Unauthenticated)
	}
	onlyCounted(t, counts, map[string]float64{"NotFound": 1})
}

package proxy

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/health"

	"github.com/heraldproj/herald/upstream"
)

// slowKV answers a Range only when its context ends, and counts the calls
// in flight.
type slowKV struct {
	upstream.KV
	inFlight atomic.Int32
	entered  chan struct{}
}

func (k *slowKV) Range(ctx context.Context, _ *pb.RangeRequest) (*pb.RangeResponse, error) {
	k.inFlight.Add(1)
	defer k.inFlight.Add(-1)
	k.entered <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestHealthStopLeavesNoProbeInFlight: stop returns only once the probe in
// flight has ended (cancelled after the grace), so the caller may close
// the upstream connection next without cutting a call short.
func TestHealthStopLeavesNoProbeInFlight(t *testing.T) {
	kv := &slowKV{entered: make(chan struct{}, 1)}
	h := newHealthMonitor(kv, health.NewServer(), slog.New(slog.DiscardHandler))
	go h.run()
	<-kv.entered
	h.stop()
	if n := kv.inFlight.Load(); n != 0 {
		t.Fatalf("%d probes in flight after stop", n)
	}
}

// TestHealthStopWithoutRun: stopping a monitor that never ran returns at
// once, and a run after it probes nothing.
func TestHealthStopWithoutRun(t *testing.T) {
	kv := &slowKV{entered: make(chan struct{}, 1)}
	h := newHealthMonitor(kv, health.NewServer(), slog.New(slog.DiscardHandler))
	h.stop()
	h.run()
	select {
	case <-kv.entered:
		t.Fatal("a run after stop probed")
	default:
	}
}

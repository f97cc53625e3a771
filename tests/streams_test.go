package tests

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/tests/harness"
)

// vanishingStreams is how many Watch and how many LeaseKeepAlive streams the
// vanishing client opens.
const vanishingStreams = 300

// goroutineSlack is how many goroutines above its idle count herald may
// keep after all clients left (lazily started workers, pools). A leak of one
// goroutine per stream is far above it.
const goroutineSlack = 20

// TestStreamsOfVanishedClientsAreReleased opens hundreds of Watch and
// LeaseKeepAlive streams through herald, drops the client's connection
// without cancelling anything, and expects herald's goroutines and the
// upstream etcd's watchers to come back to where they were.
func TestStreamsOfVanishedClientsAreReleased(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	tgt := heraldTarget(t, harness.EtcdOptions{})
	if tgt.herald == nil {
		t.Skip("counts herald's goroutines; needs herald")
	}
	herald := tgt.herald.MetricsURL() + "/metrics"
	upstream := tgt.upstream.Member(0).MetricsURL() + "/metrics"
	stillServes(t, tgt.endpoints[0]) // warm up: one client came and went
	baseGoroutines := waitGauge(t, herald, "go_goroutines", func(int) bool { return true })
	baseWatchers := waitGauge(t, upstream, "etcd_debugging_mvcc_watcher_total", func(int) bool { return true })

	conn := dialRaw(t, tgt.endpoints[0])
	ctx := context.Background() // never cancelled: the client vanishes instead
	grant, err := pb.NewLeaseClient(conn).LeaseGrant(ctxT(t), &pb.LeaseGrantRequest{TTL: 60})
	if err != nil {
		t.Fatalf("LeaseGrant: %v", err)
	}
	for i := range vanishingStreams {
		w, err := pb.NewWatchClient(conn).Watch(ctx)
		if err != nil {
			t.Fatalf("Watch stream %d: %v", i, err)
		}
		create := &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: fmt.Appendf(nil, "vanish/%d", i)}}}
		if err := w.Send(create); err != nil {
			t.Fatalf("Watch stream %d: send: %v", i, err)
		}
		if resp, err := w.Recv(); err != nil || !resp.Created {
			t.Fatalf("Watch stream %d: %v %v, want Created", i, resp, err)
		}
		k, err := pb.NewLeaseClient(conn).LeaseKeepAlive(ctx)
		if err != nil {
			t.Fatalf("LeaseKeepAlive stream %d: %v", i, err)
		}
		if err := k.Send(&pb.LeaseKeepAliveRequest{ID: grant.ID}); err != nil {
			t.Fatalf("LeaseKeepAlive stream %d: send: %v", i, err)
		}
		if resp, err := k.Recv(); err != nil || resp.TTL <= 0 {
			t.Fatalf("LeaseKeepAlive stream %d: %v %v", i, resp, err)
		}
	}
	open := waitGauge(t, herald, "go_goroutines", func(int) bool { return true })
	t.Logf("herald goroutines: %d idle, %d with %d watch and %d keepalive streams open", baseGoroutines, open, vanishingStreams, vanishingStreams)

	conn.Close()
	after := waitGauge(t, herald, "go_goroutines", func(n int) bool { return n <= baseGoroutines+goroutineSlack })
	watchers := waitGauge(t, upstream, "etcd_debugging_mvcc_watcher_total", func(n int) bool { return n <= baseWatchers })
	t.Logf("after the client vanished: herald goroutines %d, upstream watchers %d (idle %d)", after, watchers, baseWatchers)
	stillServes(t, tgt.endpoints[0])
}

// waitGauge polls a Prometheus gauge until ok accepts its value, and fails
// the test with the last value if it never does within 60 s.
func waitGauge(t *testing.T, url, name string, ok func(int) bool) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\d+)`)
	deadline := time.Now().Add(60 * time.Second)
	last := -1
	for {
		body, err := harness.Metrics(url)
		if err == nil {
			if m := re.FindStringSubmatch(body); m != nil {
				last, _ = strconv.Atoi(m[1])
				if ok(last) {
					return last
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s stayed at %d (last error %v)", name, url, last, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"

	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/upstream"
)

// watchServer relays each client watch stream to an upstream stream of its
// own, unless the fleet fan-out serves it (fanout/hub): then watchers inside
// the fan-out prefixes are served from the fleet's event cache.
// With lease offloading on, events on herald's reserved keys are dropped
// and carriers are shown as the keys' virtual leases.
type watchServer struct {
	pb.UnimplementedWatchServer
	watch upstream.Watches
	o     *offloader
	hub   *hub.Hub // nil without fan-out prefixes
}

func (s *watchServer) Watch(stream grpc.BidiStreamingServer[pb.WatchRequest, pb.WatchResponse]) error {
	var keep func(*pb.WatchResponse) bool
	if s.o != nil {
		keep = s.o.watchFilter(stream.Context())
	}
	// The hub checks each of a stream's creates against etcd's permissions,
	// as etcd does, when the stream carries a token (or when herald has an
	// etcd identity of its own, --user or its certificate's CN: tokenless
	// streams too).
	if s.hub != nil && s.hub.Ready() {
		return s.hub.Serve(stream, keep)
	}
	return relayBidi(stream, openWatchRelay(s.watch), keep)
}

// watchFilter returns the answer filter for one watch stream. An answer
// whose events were all reserved is dropped, as if those keys did not
// exist, unless it closes a fragmented answer (the client waits for it).
// Carriers are shown as the keys' virtual leases (waiting, if need be, for
// the lease index to reach the events' revision).
func (o *offloader) watchFilter(ctx context.Context) func(*pb.WatchResponse) bool {
	inFragment := map[int64]bool{}
	return func(resp *pb.WatchResponse) bool {
		had := len(resp.Events)
		events := resp.Events[:0]
		for _, ev := range resp.Events {
			if o.ks.Contains(ev.Kv.Key) {
				continue
			}
			events = append(events, ev)
		}
		resp.Events = events
		o.TranslateEvents(ctx, events)
		wasFragment := inFragment[resp.WatchId]
		if resp.Fragment {
			inFragment[resp.WatchId] = true
		} else {
			delete(inFragment, resp.WatchId)
		}
		if had > 0 && len(events) == 0 && !resp.Fragment && !wasFragment && !resp.Created && !resp.Canceled {
			return false
		}
		return true
	}
}

package zookeeper

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

// fragment splits wr as etcd's v3rpc sendFragments does, for a watch
// created with fragment: only a response of at least limit bytes with two
// events or more; each fragment takes events while it stays under limit
// (at least one), and every fragment but the last has fragment=true.
func fragment(wr *pb.WatchResponse, limit int) []*pb.WatchResponse {
	if proto.Size(wr) < limit || len(wr.Events) < 2 {
		return []*pb.WatchResponse{wr}
	}
	var out []*pb.WatchResponse
	idx := 0
	for {
		cur := &pb.WatchResponse{Header: wr.Header, WatchId: wr.WatchId, Fragment: true, Events: make([]*mvccpb.Event, 0)}
		for _, ev := range wr.Events[idx:] {
			cur.Events = append(cur.Events, ev)
			if len(cur.Events) > 1 && proto.Size(cur) >= limit {
				cur.Events = cur.Events[:len(cur.Events)-1]
				break
			}
			idx++
		}
		if idx == len(wr.Events) {
			cur.Fragment = false
		}
		out = append(out, cur)
		if !cur.Fragment {
			return out
		}
	}
}

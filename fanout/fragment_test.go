package fanout

import (
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

func TestFragmentBoundaries(t *testing.T) {
	ev := func(k string, n int) *mvccpb.Event {
		return &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(k), Value: []byte(strings.Repeat("v", n)), ModRevision: 5, CreateRevision: 5, Version: 1}}
	}
	wr := &pb.WatchResponse{Header: &pb.ResponseHeader{Revision: 5, ClusterId: 1}, WatchId: 3, Events: []*mvccpb.Event{ev("/a", 10), ev("/b", 30), ev("/c", 10)}}
	size := proto.Size(wr)
	one := &pb.WatchResponse{Header: wr.Header, WatchId: 3, Fragment: true, Events: wr.Events[:1]}
	two := &pb.WatchResponse{Header: wr.Header, WatchId: 3, Fragment: true, Events: wr.Events[:2]}
	for _, tc := range []struct {
		name  string
		wr    *pb.WatchResponse
		limit int
		want  []int // events per fragment
	}{
		{"under the limit", wr, size + 1, []int{3}},
		{"at the limit", wr, size, []int{2, 1}},
		{"one event never splits", &pb.WatchResponse{Header: wr.Header, Events: wr.Events[:1]}, 1, []int{1}},
		{"tiny limit: one event each", wr, 1, []int{1, 1, 1}},
		{"two fit", wr, proto.Size(two) + 1, []int{2, 1}},
		{"first alone", wr, proto.Size(one) + 1, []int{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fragment(tc.wr, tc.limit)
			if len(got) != len(tc.want) {
				t.Fatalf("%d fragments, want %d", len(got), len(tc.want))
			}
			var evs []*mvccpb.Event
			for i, f := range got {
				if len(f.Events) != tc.want[i] {
					t.Errorf("fragment %d has %d events, want %d", i, len(f.Events), tc.want[i])
				}
				if last := i == len(got)-1; f.Fragment == last {
					t.Errorf("fragment %d: fragment=%v", i, f.Fragment)
				}
				if f.WatchId != tc.wr.WatchId || f.Header != tc.wr.Header {
					t.Errorf("fragment %d lost the id or header", i)
				}
				evs = append(evs, f.Events...)
			}
			for i := range evs {
				if evs[i] != tc.wr.Events[i] {
					t.Fatalf("fragments reorder or lose events")
				}
			}
		})
	}
}

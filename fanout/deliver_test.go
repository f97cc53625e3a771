package fanout

import (
	"slices"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// TestSyncedDeliveryMatchesEachWatchersRange: watchers of one stream on
// ranges that repeat, alternate and overlap (the matching of a revision's
// events is shared by a run of watchers with one range) each get exactly
// the events of their own range, in the revision's order.
func TestSyncedDeliveryMatchesEachWatchersRange(t *testing.T) {
	c := emptyCache(t, Config{Prefixes: []string{"/s/"}, MaxEvents: 1000})
	watches := []struct{ key, end string }{
		{"/s/a/", "/s/a0"},
		{"/s/a/", "/s/a0"},
		{"/s/b/", "/s/b0"},
		{"/s/a/", "/s/a0"},
		{"/s/a/1", ""},     // one key inside the range before
		{"/s/a/", "/s/a/"}, // an empty range
		{"/s/b/", "/s0"},   // every key of the prefix from /s/b/ on
		{"/s/", "/s0"},
	}
	st := c.NewStream()
	for _, w := range watches {
		st.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{
			Key: []byte(w.key), RangeEnd: []byte(w.end)}}})
	}
	created := st.Ready().Responses
	if len(created) != len(watches) {
		t.Fatalf("%d created responses, want %d", len(created), len(watches))
	}
	keys := []string{"/s/b/1", "/s/a/1", "/s/c/1", "/s/a/2", "/s/b/2"}
	var evs []*mvccpb.Event
	for _, k := range keys {
		evs = append(evs, &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(k), Value: []byte("v"), CreateRevision: 2, ModRevision: 2, Version: 1}})
	}
	if _, err := c.Apply(Batch{PrevRev: 1, Rev: 2, Events: evs}); err != nil {
		t.Fatal(err)
	}
	got := map[int64][]string{}
	for _, r := range st.Ready().Responses {
		for _, ev := range r.Events {
			got[r.WatchId] = append(got[r.WatchId], string(ev.Kv.Key))
		}
	}
	for i, w := range watches {
		sp := requestSpan([]byte(w.key), []byte(w.end))
		var want []string
		for _, k := range keys {
			if sp.contains([]byte(k)) {
				want = append(want, k)
			}
		}
		id := created[i].WatchId
		if !slices.Equal(got[id], want) {
			t.Errorf("watcher %d on [%q, %q) got %q, want %q", id, w.key, w.end, got[id], want)
		}
	}
}

func TestSpanEqual(t *testing.T) {
	a := requestSpan([]byte("/a/"), []byte("/a0"))
	for _, tc := range []struct {
		name string
		o    span
		want bool
	}{
		{"same range", requestSpan([]byte("/a/"), []byte("/a0")), true},
		{"another end", requestSpan([]byte("/a/"), []byte("/a1")), false},
		{"another start", requestSpan([]byte("/b/"), []byte("/a0")), false},
		{"one key", requestSpan([]byte("/a/"), nil), false},
		{"from the key on", requestSpan([]byte("/a/"), []byte{0}), false},
	} {
		if got := a.equal(tc.o); got != tc.want {
			t.Errorf("%s: equal = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !requestSpan([]byte("/k"), nil).equal(requestSpan([]byte("/k"), nil)) {
		t.Error("one key is not equal to itself")
	}
}

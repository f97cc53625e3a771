package fanout

import (
	"fmt"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// rangeFixture: a(c=2 m=5 v=2 "d" lease 5), b(c=3 m=3 v=1 "a"),
// c(c=4 m=4 v=1 "b"), d(c=6 m=6 v=1 "a"); cache at revision 7, window
// from 2.
func rangeFixture(t *testing.T) *Cache {
	t.Helper()
	c, err := NewCache(Config{Prefixes: []string{"/services/"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newFakeEtcd()
	if _, err := c.Load(e.rev, nil, 0); err != nil {
		t.Fatal(err)
	}
	prev := e.rev
	apply := func(evs int) {
		b := Batch{PrevRev: prev, Rev: e.rev, Events: e.history[len(e.history)-evs:]}
		if evs == 0 {
			b = Batch{PrevRev: prev, Rev: e.rev, ProgressOnly: true}
		}
		if _, err := c.Apply(b); err != nil {
			t.Fatal(err)
		}
		prev = e.rev
	}
	e.txn(op{key: "/services/a", value: "c", lease: 5})
	apply(1)
	e.txn(op{key: "/services/b", value: "a"})
	apply(1)
	e.txn(op{key: "/services/c", value: "b"})
	apply(1)
	e.txn(op{key: "/services/a", value: "d", lease: 5})
	apply(1)
	e.txn(op{key: "/services/d", value: "a"})
	apply(1)
	e.bump()
	apply(0)
	return c
}

func TestRangeOptions(t *testing.T) {
	type want struct {
		kvs   string // "key:value:lease ..." with the prefix cut
		count int64
		more  bool
	}
	pfx := func(r *pb.RangeRequest) *pb.RangeRequest {
		r.Key, r.RangeEnd = []byte("/services/"), []byte("/services0")
		return r
	}
	for _, tc := range []struct {
		name    string
		req     *pb.RangeRequest
		compact int64
		want    *want // nil: forwarded upstream
	}{
		{"prefix", pfx(&pb.RangeRequest{}), 0, &want{"a:d:5 b:a:0 c:b:0 d:a:0", 4, false}},
		{"limit cuts", pfx(&pb.RangeRequest{Limit: 2}), 0, &want{"a:d:5 b:a:0", 4, true}},
		{"limit exact", pfx(&pb.RangeRequest{Limit: 4}), 0, &want{"a:d:5 b:a:0 c:b:0 d:a:0", 4, false}},
		{"negative limit is none", pfx(&pb.RangeRequest{Limit: -1}), 0, &want{"a:d:5 b:a:0 c:b:0 d:a:0", 4, false}},
		{"single key", &pb.RangeRequest{Key: []byte("/services/b")}, 0, &want{"b:a:0", 1, false}},
		{"missing key", &pb.RangeRequest{Key: []byte("/services/zz")}, 0, &want{"", 0, false}},
		{"range", &pb.RangeRequest{Key: []byte("/services/b"), RangeEnd: []byte("/services/d")}, 0, &want{"b:a:0 c:b:0", 2, false}},
		{"empty range", &pb.RangeRequest{Key: []byte("/services/d"), RangeEnd: []byte("/services/b")}, 0, &want{"", 0, false}},
		// sort.Sort over key order, as etcd: ties keep key order here.
		{"sort value", pfx(&pb.RangeRequest{SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_ASCEND}), 0, &want{"b:a:0 d:a:0 c:b:0 a:d:5", 4, false}},
		{"sort mod descend", pfx(&pb.RangeRequest{SortTarget: pb.RangeRequest_MOD, SortOrder: pb.RangeRequest_DESCEND}), 0, &want{"d:a:0 a:d:5 c:b:0 b:a:0", 4, false}},
		{"sort target without order ascends", pfx(&pb.RangeRequest{SortTarget: pb.RangeRequest_CREATE}), 0, &want{"a:d:5 b:a:0 c:b:0 d:a:0", 4, false}},
		{"sort key descend", pfx(&pb.RangeRequest{SortOrder: pb.RangeRequest_DESCEND}), 0, &want{"d:a:0 c:b:0 b:a:0 a:d:5", 4, false}},
		{"sort version descend limit", pfx(&pb.RangeRequest{SortTarget: pb.RangeRequest_VERSION, SortOrder: pb.RangeRequest_DESCEND, Limit: 1}), 0, &want{"a:d:5", 4, true}},
		// FastKeysOnly reads the index: no value and no lease.
		{"keys only", pfx(&pb.RangeRequest{KeysOnly: true}), 0, &want{"a::0 b::0 c::0 d::0", 4, false}},
		// Sorting by value takes the full path: the lease stays.
		{"keys only by value", pfx(&pb.RangeRequest{KeysOnly: true, SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_DESCEND}), 0, &want{"a::5 c::0 b::0 d::0", 4, false}},
		{"count only", pfx(&pb.RangeRequest{CountOnly: true, Limit: 1}), 0, &want{"", 4, false}},
		// Count is taken before the revision filters.
		{"min mod", pfx(&pb.RangeRequest{MinModRevision: 4}), 0, &want{"a:d:5 c:b:0 d:a:0", 4, false}},
		{"max create", pfx(&pb.RangeRequest{MaxCreateRevision: 3}), 0, &want{"a:d:5 b:a:0", 4, false}},
		{"min create max mod", pfx(&pb.RangeRequest{MinCreateRevision: 3, MaxModRevision: 4}), 0, &want{"b:a:0 c:b:0", 4, false}},
		{"filters then limit", pfx(&pb.RangeRequest{MinModRevision: 4, Limit: 2}), 0, &want{"a:d:5 c:b:0", 4, true}},
		{"past revision", pfx(&pb.RangeRequest{Revision: 4}), 0, &want{"a:c:5 b:a:0 c:b:0", 3, false}},
		{"window start", pfx(&pb.RangeRequest{Revision: 1}), 0, &want{"", 0, false}},
		{"current revision", pfx(&pb.RangeRequest{Revision: 7}), 0, &want{"a:d:5 b:a:0 c:b:0 d:a:0", 4, false}},
		{"future revision", pfx(&pb.RangeRequest{Revision: 8}), 0, nil},
		{"compacted revision", pfx(&pb.RangeRequest{Revision: 2}), 3, nil},
		{"outside prefix", &pb.RangeRequest{Key: []byte("/other/x")}, 0, nil},
		{"across prefix end", &pb.RangeRequest{Key: []byte("/services/a"), RangeEnd: []byte{0}}, 0, nil},
		{"empty key", &pb.RangeRequest{}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rangeFixture(t)
			c.SetCompactRev(tc.compact)
			resp, ok := c.Range(tc.req)
			if tc.want == nil {
				if ok {
					t.Fatalf("served %v, want forwarded", resp)
				}
				return
			}
			if !ok {
				t.Fatal("forwarded, want served")
			}
			var got []string
			for _, kv := range resp.Kvs {
				got = append(got, fmt.Sprintf("%s:%s:%d", strings.TrimPrefix(string(kv.Key), "/services/"), kv.Value, kv.Lease))
			}
			if g := strings.Join(got, " "); g != tc.want.kvs || resp.Count != tc.want.count || resp.More != tc.want.more {
				t.Errorf("got %q count=%d more=%v, want %q count=%d more=%v", g, resp.Count, resp.More, tc.want.kvs, tc.want.count, tc.want.more)
			}
			if resp.Header.Revision != 7 {
				t.Errorf("header revision %d, want the current 7", resp.Header.Revision)
			}
		})
	}
}

// TestRangeDoesNotAlias: callers may rewrite what Range returns.
func TestRangeDoesNotAlias(t *testing.T) {
	c := rangeFixture(t)
	r := &pb.RangeRequest{Key: []byte("/services/a")}
	resp, _ := c.Range(r)
	resp.Kvs[0].Lease = 99
	resp.Kvs[0].Value = nil
	again, _ := c.Range(r)
	if again.Kvs[0].Lease != 5 || string(again.Kvs[0].Value) != "d" {
		t.Fatalf("cache changed through a response: %v", again.Kvs[0])
	}
}

func TestCovers(t *testing.T) {
	c, _ := NewCache(Config{Prefixes: []string{"/services/", "/a\xff"}})
	if c.Covers([]byte("/services/x"), nil) {
		t.Fatal("covers before Load")
	}
	if _, err := c.Load(1, nil, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, end string
		want     bool
	}{
		{"/services/x", "", true},
		{"/services/", "/services0", true},
		{"/services/a", "/services/b", true},
		{"/services/a", "/services1", false},
		{"/services", "/services0", false},
		{"/services/a", "\x00", false},
		{"/a\xff", "\x00", false},
		{"/a\xff", "/b", true},
		{"/a\xff\xff", "\x00", false},
		{"", "", false},
	} {
		if got := c.Covers([]byte(tc.key), []byte(tc.end)); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.key, tc.end, got, tc.want)
		}
	}
}

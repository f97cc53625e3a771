package zookeeper

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/tests/harness"
)

// next waits (harness.DefaultPatience at most) for the follower's next
// batch with events.
func next(t *testing.T, f *Follower) Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	defer cancel()
	b, err := f.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return b
}

func follow(t *testing.T, c *Client, key, end string) *Follower {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	defer cancel()
	var e []byte
	if end != "" {
		e = []byte(end)
	}
	f, err := c.Follow(ctx, []byte(key), e)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// evString prints an event with its revisions relative to base, the
// revision of the write that caused it (0 for the event's own write).
func evString(ev *mvccpb.Event) string {
	s := fmt.Sprintf("%v %q", ev.Type, ev.Kv.Key)
	if ev.Type == mvccpb.PUT {
		s += fmt.Sprintf("=%q v%d", ev.Kv.Value, ev.Kv.Version)
	}
	if ev.PrevKv != nil {
		s += fmt.Sprintf(" prev=%q", ev.PrevKv.Value)
	}
	return s
}

// TestFollowerOneWriteAtATime: with each write's events awaited before the
// next write, the follower's events are etcd's: one per key changed, at
// the write's revision, with etcd's fields and prev_kv.
func TestFollowerOneWriteAtATime(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	if _, err := c.Put(ctx, put("/svc/web/before", "old")); err != nil {
		t.Fatal(err)
	}
	f := follow(t, c, "/svc/", "/svc0")
	outside := follow(t, c, "/other", "")
	for _, tc := range []struct {
		write any
		want  []string
	}{
		{put("/svc/web/n1", "a"), []string{`PUT "/svc/web/n1"="a" v1`}},
		{put("/svc/web/n1", "b"), []string{`PUT "/svc/web/n1"="b" v2 prev="a"`}},
		{put("/svc/web/before", "new"), []string{`PUT "/svc/web/before"="new" v2 prev="old"`}},
		{put("/svc/db/deep/x", "1"), []string{`PUT "/svc/db/deep/x"="1" v1`}},
		{put("/svc/", "dir key"), []string{`PUT "/svc/"="dir key" v1`}},
		{put("/svcx", "outside"), nil},
		{&pb.DeleteRangeRequest{Key: []byte("/svc/web/n1")}, []string{`DELETE "/svc/web/n1" prev="b"`}},
		{put("/svc/web/n1", "again"), []string{`PUT "/svc/web/n1"="again" v1`}},
		{&pb.TxnRequest{Success: []*pb.RequestOp{op(put("/svc/a", "1")), op(put("/svc/b", "2"))}},
			[]string{`PUT "/svc/a"="1" v1`, `PUT "/svc/b"="2" v1`}},
		{&pb.DeleteRangeRequest{Key: []byte("/svc/db/"), RangeEnd: []byte("/svc/db0")}, []string{`DELETE "/svc/db/deep/x" prev="1"`}},
		{&pb.DeleteRangeRequest{Key: []byte("/svc/w"), RangeEnd: []byte("/svc/x")},
			[]string{`DELETE "/svc/web/before" prev="new"`, `DELETE "/svc/web/n1" prev="again"`}},
	} {
		var rev int64
		var err error
		switch w := tc.write.(type) {
		case *pb.PutRequest:
			var r *pb.PutResponse
			if r, err = c.Put(ctx, w); err == nil {
				rev = r.Header.Revision
			}
		case *pb.DeleteRangeRequest:
			var r *pb.DeleteRangeResponse
			if r, err = c.DeleteRange(ctx, w); err == nil {
				rev = r.Header.Revision
			}
		case *pb.TxnRequest:
			var r *pb.TxnResponse
			if r, err = c.Txn(ctx, w); err == nil {
				rev = r.Header.Revision
			}
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.write, err)
		}
		if tc.want == nil {
			continue
		}
		var got []string
		for len(got) < len(tc.want) {
			b := next(t, f)
			for _, ev := range b.Events {
				got = append(got, evString(ev))
				if ev.Kv.ModRevision != rev {
					t.Errorf("%s: mod_revision %d, the write's revision is %d", evString(ev), ev.Kv.ModRevision, rev)
				}
				if ev.Type == mvccpb.PUT && ev.Kv.Version == 1 && ev.Kv.CreateRevision != rev {
					t.Errorf("%s: create_revision %d, want %d", evString(ev), ev.Kv.CreateRevision, rev)
				}
			}
			if b.Revision < rev {
				t.Errorf("batch revision %d below its events' %d", b.Revision, rev)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("after %v:\n got %q\nwant %q", tc.write, got, tc.want)
		}
	}
	// The follower of /other saw none of it: a progress mark, no events.
	p, err := outside.Progress(ctx)
	if err != nil || len(p.Events) != 0 {
		t.Fatalf("the /other follower: %v, %v", p, err)
	}
	if p.Revision < f.bound {
		t.Fatalf("progress revision %d is behind the store's %d", p.Revision, f.bound)
	}
}

// replay applies events to a key → value map, checking that revisions
// never go back and that no key gets the same change twice.
type replay struct {
	t      *testing.T
	state  map[string]*mvccpb.KeyValue
	last   int64
	events atomic.Int64 // read by the test while another goroutine applies
}

func (r *replay) apply(b Batch) {
	r.t.Helper()
	r.events.Add(int64(len(b.Events)))
	for _, ev := range b.Events {
		k := string(ev.Kv.Key)
		if ev.Kv.ModRevision < r.last {
			r.t.Errorf("event %s at revision %d after revision %d", evString(ev), ev.Kv.ModRevision, r.last)
		}
		r.last = max(r.last, ev.Kv.ModRevision)
		prev := r.state[k]
		switch ev.Type {
		case mvccpb.PUT:
			if prev != nil && prev.ModRevision >= ev.Kv.ModRevision {
				r.t.Errorf("PUT %q at %d repeats or precedes %d", k, ev.Kv.ModRevision, prev.ModRevision)
			}
			r.state[k] = ev.Kv
		case mvccpb.DELETE:
			if prev == nil {
				r.t.Errorf("DELETE %q at %d of a key not there", k, ev.Kv.ModRevision)
			}
			delete(r.state, k)
		}
	}
	if b.Revision < r.last {
		r.t.Errorf("batch revision %d below its events' %d", b.Revision, r.last)
	}
}

// converge follows f until its bound reaches rev and checks that the
// replayed state is the store's: every key in the range, with the same
// value, version and revisions.
func (r *replay) converge(c *Client, f *Follower, key, end string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	defer cancel()
	want, err := c.Range(ctx, rng(key, end))
	if err != nil {
		r.t.Fatal(err)
	}
	for f.bound < want.Header.Revision {
		b, err := f.Progress(ctx)
		if err != nil {
			r.t.Fatalf("Progress: %v", err)
		}
		r.apply(b)
	}
	got := map[string]*mvccpb.KeyValue{}
	for k, kv := range r.state {
		got[k] = kv
	}
	for _, kv := range want.Kvs {
		g := got[string(kv.Key)]
		if g == nil || !bytes.Equal(g.Value, kv.Value) || g.ModRevision != kv.ModRevision ||
			g.CreateRevision != kv.CreateRevision || g.Version != kv.Version {
			r.t.Errorf("key %q: follower shows %v, the store %v", kv.Key, g, kv)
		}
		delete(got, string(kv.Key))
	}
	for k := range got {
		r.t.Errorf("key %q: the follower shows it, the store does not have it", k)
	}
}

// TestFollowerOfRangesNotYetThere: a follower whose directory does not
// exist yet (nor its parents) sees the keys once they are created; a
// follower of one key sees that key only. Each case writes everything
// before the follower reads (it reads only in Next), so the events are
// deterministic.
func TestFollowerOfRangesNotYetThere(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx := context.Background()
	for _, tc := range []struct {
		name, key, end string
		writes         []*pb.PutRequest
		want           []string
	}{
		{"prefix", "/new/deep/", "/new/deep0",
			[]*pb.PutRequest{put("/new/other", "no"), put("/new/deep/a/b", "1"), put("/new/deep/c", "2")},
			[]string{`PUT "/new/deep/a/b"="1" v1`, `PUT "/new/deep/c"="2" v1`}},
		{"one key", "/one/k/", "",
			// Both puts come before the follower reads: they collapse
			// into the last (doc.go, the follower's limits).
			[]*pb.PutRequest{put("/one/k", "no"), put("/one/k/x", "no"), put("/one/k/", "1"), put("/one/k/", "2")},
			[]string{`PUT "/one/k/"="2" v2`}},
		{"from a key on", "/from/m", "\x00",
			[]*pb.PutRequest{put("/from/a", "no"), put("/from/m", "1"), put("/from/z/z", "2"), put("/g", "3")},
			[]string{`PUT "/from/m"="1" v1`, `PUT "/from/z/z"="2" v1`, `PUT "/g"="3" v1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := follow(t, c, tc.key, tc.end)
			for _, w := range tc.writes {
				if _, err := c.Put(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for len(got) < len(tc.want) {
				for _, ev := range next(t, f).Events {
					got = append(got, evString(ev))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

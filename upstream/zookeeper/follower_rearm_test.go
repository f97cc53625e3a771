package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"path"
	"testing"

	"github.com/go-zookeeper/zk"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/tests/harness"
)

// TestFollowerRearmsAKeyReadAsGone replays, step by step, the interleaving
// that concurrent writes produce at random: a key is deleted, the round
// that follows reads it as gone (a read that finds no znode arms no
// watch), the key is created again, and only then is its directory
// listed, showing it. The follower must read the key again then: it shows
// the new znode, and its later changes still reach it.
func TestFollowerRearmsAKeyReadAsGone(t *testing.T) {
	c := dialZK(t, nil, "")
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	defer cancel()
	write := func(req any) {
		t.Helper()
		var err error
		switch r := req.(type) {
		case *pb.PutRequest:
			_, err = c.Put(ctx, r)
		case *pb.DeleteRangeRequest:
			_, err = c.DeleteRange(ctx, r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	write(put("/rearm/k", "a"))
	f := follow(t, c, "/rearm/", "/rearm0")
	if len(f.leaves) != 1 {
		t.Fatalf("the follower follows %d keys, want 1", len(f.leaves))
	}
	var leaf string
	for p := range f.leaves {
		leaf = p
	}

	write(&pb.DeleteRangeRequest{Key: []byte("/rearm/k")})
	gone := &read{path: leaf}
	gone.data, gone.stat, _, gone.err = c.conn.GetW(leaf)
	if !errors.Is(gone.err, zk.ErrNoNode) {
		t.Fatalf("reading the deleted key: %v, want ErrNoNode", gone.err)
	}
	// The delete's notifications came before that read's answer: the
	// round being replayed is the one they caused.
	if _, err := f.take(); err != nil {
		t.Fatal(err)
	}
	write(put("/rearm/k", "b"))
	dir := &read{path: path.Dir(leaf), dir: true}
	dir.names, dir.stat, _, dir.err = c.conn.ChildrenW(dir.path)
	if dir.err != nil {
		t.Fatal(dir.err)
	}
	w := newWork()
	f.onDir(dir, w)
	f.onLeaf(gone, w)
	if err := f.round(w); err != nil {
		t.Fatal(err)
	}
	var got []string
	b, err := f.Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range b.Events {
		got = append(got, evString(ev))
	}
	write(put("/rearm/k", "c"))
	for _, ev := range next(t, f).Events {
		got = append(got, evString(ev))
	}
	want := []string{`DELETE "/rearm/k" prev="a"`, `PUT "/rearm/k"="b" v1`, `PUT "/rearm/k"="c" v2 prev="b"`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

package embedetcd

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream/etcd"
)

// TestMemberKeepsDataAcrossRestart: `herald` alone must be a working
// endpoint that keeps its data when restarted.
func TestMemberKeepsDataAcrossRestart(t *testing.T) {
	logs := newRecords(slog.LevelInfo)
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "d"), ClientAddr: harness.FreeAddr(t), PeerAddr: harness.FreeAddr(t), Logger: slog.New(logs)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	emb, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := etcd.Dial(etcd.Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	members, err := c.MemberList(ctx, &pb.MemberListRequest{})
	if err != nil || len(members.Members) != 1 {
		t.Fatalf("member list %v, %v", members, err)
	}
	c.Close()
	emb.Close()
	// A normal start and stop logs no warning or error at herald's info
	// level (etcd's four "closed" errors at Close among them), and the
	// member's lines do reach herald's handler.
	got := logs.take()
	if len(got) == 0 {
		t.Error("the member logged nothing through herald's handler")
	}
	for _, r := range got {
		if r.Level >= slog.LevelWarn {
			t.Errorf("start and stop logged %s %q %v", r.Level, r.Message, attrsString(r))
		}
	}

	emb, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	c, err = etcd.Dial(etcd.Config{Endpoints: []string{emb.Endpoint()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Range(ctx, &pb.RangeRequest{Key: []byte("k")})
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after restart: %v %v", resp, err)
	}
}

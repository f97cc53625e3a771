package zookeeper

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
)

// The tests share one standalone ZooKeeper (harness.SharedZooKeeper; each
// test has its own chroot) and one embedded etcd, the reference the
// differential tests compare with; both are started by the first test that
// needs them and stopped here.
var sharedEtcd struct {
	once sync.Once
	emb  *embedetcd.Member
	conn *grpc.ClientConn
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEtcd.conn != nil {
		sharedEtcd.conn.Close()
	}
	if sharedEtcd.emb != nil {
		sharedEtcd.emb.Close()
	}
	if sharedEtcd.dir != "" {
		os.RemoveAll(sharedEtcd.dir)
	}
	harness.StopSharedZooKeeper()
	if code == 0 {
		if err := harness.FindLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var chroots atomic.Int64

// dialZK connects a Client to the shared ZooKeeper under a chroot of its
// own (or the given ZooKeeper's servers) and closes it when t ends.
func dialZK(t *testing.T, z *harness.ZooKeeper, chroot string) *Client {
	t.Helper()
	if z == nil {
		z = harness.SharedZooKeeper(t)
	}
	if chroot == "" {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		chroot = fmt.Sprintf("/%s-%d", name, chroots.Add(1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	defer cancel()
	c, err := Dial(ctx, Config{URL: z.URL(chroot), SessionTimeout: 4 * time.Second})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// etcdKV returns the shared embedded etcd's KV service, emptied (the
// differential tests compare stores that start empty).
func etcdKV(t *testing.T) pb.KVClient {
	t.Helper()
	sharedEtcd.once.Do(func() {
		if sharedEtcd.dir, sharedEtcd.err = os.MkdirTemp("", "herald-zk-test-"); sharedEtcd.err != nil {
			return
		}
		sharedEtcd.emb, sharedEtcd.err = embedetcd.Start(embedetcd.Config{
			DataDir:    filepath.Join(sharedEtcd.dir, "data"),
			ClientAddr: harness.FreeAddr(t),
			PeerAddr:   harness.FreeAddr(t),
		})
		if sharedEtcd.err != nil {
			return
		}
		target := strings.TrimPrefix(sharedEtcd.emb.Endpoint(), "http://")
		sharedEtcd.conn, sharedEtcd.err = grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	})
	if sharedEtcd.err != nil {
		t.Fatal(sharedEtcd.err)
	}
	kv := pb.NewKVClient(sharedEtcd.conn)
	if _, err := kv.DeleteRange(context.Background(), &pb.DeleteRangeRequest{Key: []byte{0}, RangeEnd: []byte{0}}); err != nil {
		t.Fatalf("empty etcd: %v", err)
	}
	return kv
}

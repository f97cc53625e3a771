package proxy_test

import (
	"bytes"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// putLarge writes n values of just under etcd's default request limit
// under prefix, straight at etcd: together they are larger than gRPC's
// default 4 MiB receive limit.
func putLarge(t *testing.T, e *env, prefix string, n int) []byte {
	t.Helper()
	value := bytes.Repeat([]byte("v"), 1400*1024)
	for i := range n {
		if _, err := e.direct.Put(harness.Context(t, harness.DefaultPatience), fmt.Sprintf("%s%d", prefix, i), string(value)); err != nil {
			t.Fatal(err)
		}
	}
	return value
}

// TestAnswersLargerThanFourMiB: etcd answers a Range or a DeleteRange with
// prev_kv of any size, so herald must relay them too (gRPC's default
// receive limit is 4 MiB).
func TestAnswersLargerThanFourMiB(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	value := putLarge(t, e, "/large/", 5)

	got, err := e.viaHerald.Get(ctx, "/large/", clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("a 7 MB Range through herald: %v", err)
	}
	if len(got.Kvs) != 5 {
		t.Fatalf("Range returned %d keys, want 5", len(got.Kvs))
	}
	for _, kv := range got.Kvs {
		if !bytes.Equal(kv.Value, value) {
			t.Fatalf("%s: value of %d bytes, want %d", kv.Key, len(kv.Value), len(value))
		}
	}

	del, err := e.viaHerald.Delete(ctx, "/large/", clientv3.WithPrefix(), clientv3.WithPrevKV())
	if err != nil {
		t.Fatalf("a DeleteRange with 7 MB of prev_kv through herald: %v", err)
	}
	if del.Deleted != 5 || len(del.PrevKvs) != 5 {
		t.Fatalf("deleted %d, prev_kvs %d; want 5 and 5", del.Deleted, len(del.PrevKvs))
	}
}

// TestFanoutPrefixLargerThanFourMiB: a herald whose fan-out prefix holds
// more than 4 MiB starts, and serves the prefix from its cache.
func TestFanoutPrefixLargerThanFourMiB(t *testing.T) {
	e := startEtcd(t)
	value := putLarge(t, e, "/big/", 4)
	e.startHeraldWith(t, func(o *heraldOptions) {
		o.Name, o.Offload = "herald-large", defaultOffload()
		o.Fanout.Prefixes = []string{"/big/"}
	})

	ctx := harness.Context(t, harness.DefaultPatience)
	got, err := e.viaHerald.Get(ctx, "/big/", clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 4 || !bytes.Equal(got.Kvs[3].Value, value) {
		t.Fatalf("serializable Range of the fan-out prefix: %d keys", len(got.Kvs))
	}
	w := e.viaHerald.Watch(ctx, "/big/", clientv3.WithPrefix(), clientv3.WithRev(got.Header.Revision+1))
	if _, err := e.direct.Put(ctx, "/big/next", string(value)); err != nil {
		t.Fatal(err)
	}
	resp := <-w
	if err := resp.Err(); err != nil || len(resp.Events) != 1 || !bytes.Equal(resp.Events[0].Kv.Value, value) {
		t.Fatalf("watch of the fan-out prefix: err %v, %d events", err, len(resp.Events))
	}
}

package proxy_test

import (
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// TestSerializableReadsSeeOwnWrites: a serializable read of a fan-out
// prefix through the herald that acknowledged a write shows that write,
// as a read on the etcd member that acknowledged it would, although the
// fan-out cache learns of it only through its watch.
func TestSerializableReadsSeeOwnWrites(t *testing.T) {
	e := startEtcd(t)
	e.startHeraldWith(t, func(o *heraldOptions) {
		o.Name, o.Offload = "herald-ryw", defaultOffload()
		o.Fanout.Prefixes = []string{"/services/"}
	})
	ctx := harness.Context(t, harness.DefaultPatience)
	for i := range 50 {
		value := fmt.Sprint(i)
		put, err := e.viaHerald.Put(ctx, "/services/k", value)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.viaHerald.Get(ctx, "/services/k", clientv3.WithSerializable())
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != value || got.Header.Revision < put.Header.Revision {
			t.Fatalf("write %d (revision %d) then a serializable read: %v at revision %d", i, put.Header.Revision, got.Kvs, got.Header.Revision)
		}
	}
}

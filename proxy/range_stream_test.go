package proxy_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/tests/harness"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestRangeStreamAroundReserved: a RangeStream that covers herald's
// reserved keyspace answers what the unary Range answers (the keys around
// the reserved ones, virtual lease IDs, More and Count as etcd counts
// them), at one revision.
func TestRangeStreamAroundReserved(t *testing.T) {
	e := startEnv(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	putLeased(t, e, "leased", 30)
	var past int64
	for _, k := range []string{"\x00a", "\x00b", "a", "b", "c"} {
		put, err := e.viaHerald.Put(ctx, k, "v-"+k)
		if err != nil {
			t.Fatal(err)
		}
		if k == "a" {
			past = put.Header.Revision
		}
	}
	whole := []clientv3.OpOption{clientv3.WithFromKey()}
	cases := map[string][]clientv3.OpOption{
		"whole keyspace":            whole,
		"limit inside the first":    append(whole, clientv3.WithLimit(1)),
		"limit at the first's end":  append(whole, clientv3.WithLimit(2)),
		"limit inside the second":   append(whole, clientv3.WithLimit(4)),
		"limit above the count":     append(whole, clientv3.WithLimit(100)),
		"count only":                append(whole, clientv3.WithCountOnly()),
		"keys only":                 append(whole, clientv3.WithKeysOnly()),
		"serializable":              append(whole, clientv3.WithSerializable()),
		"at a past revision":        append(whole, clientv3.WithRev(past)),
		"only reserved keys":        {clientv3.WithPrefix()},
		"descending (etcd refuses)": append(whole, clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)),
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			key := "\x00"
			if name == "only reserved keys" {
				key = "\x00herald/"
			}
			want, wantErr := e.viaHerald.Get(ctx, key, opts...)
			stream, err := e.viaHerald.GetStream(ctx, key, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, gotErr := clientv3.GetStreamToGetResponse(stream)
			if name == "descending (etcd refuses)" {
				direct, err := e.direct.GetStream(ctx, key, opts...)
				if err != nil {
					t.Fatal(err)
				}
				_, directErr := clientv3.GetStreamToGetResponse(direct)
				if directErr == nil || fmt.Sprint(gotErr) != fmt.Sprint(directErr) {
					t.Fatalf("through herald %v, etcd said %v", gotErr, directErr)
				}
				return
			}
			if wantErr != nil || gotErr != nil {
				t.Fatalf("Range: %v; RangeStream: %v", wantErr, gotErr)
			}
			if got.Count != want.Count || got.More != want.More || got.Header.Revision != want.Header.Revision {
				t.Errorf("stream count %d more %v rev %d; Range count %d more %v rev %d",
					got.Count, got.More, got.Header.Revision, want.Count, want.More, want.Header.Revision)
			}
			if len(got.Kvs) != len(want.Kvs) {
				t.Fatalf("stream has %d keys, Range %d", len(got.Kvs), len(want.Kvs))
			}
			for i := range want.Kvs {
				if !proto.Equal(got.Kvs[i], want.Kvs[i]) {
					t.Errorf("key %d: stream %v, Range %v", i, got.Kvs[i], want.Kvs[i])
				}
			}
		})
	}
}

package proxy_test

import (
	"testing"

	"github.com/heraldproj/herald/tests/harness"
)

// TestStartupIsRevisionNeutral: a herald that starts (offload and fan-out
// on) writes nothing upstream until a client needs it, so a cluster seen
// through it numbers revisions exactly as etcd does.
func TestStartupIsRevisionNeutral(t *testing.T) {
	e := startEtcd(t)
	ctx := harness.Context(t, harness.DefaultPatience)
	before, err := e.direct.Get(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	e.startHeraldWith(t, func(o *heraldOptions) {
		o.Name, o.Offload = "herald-rev", defaultOffload()
		o.Fanout.Prefixes = []string{"/services/"}
	})
	through, err := e.viaHerald.Get(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	if through.Header.Revision != before.Header.Revision {
		t.Fatalf("revision %d through a fresh herald, etcd was at %d", through.Header.Revision, before.Header.Revision)
	}
	put, err := e.viaHerald.Put(ctx, "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if put.Header.Revision != before.Header.Revision+1 {
		t.Fatalf("first put through herald at revision %d, want %d", put.Header.Revision, before.Header.Revision+1)
	}
}

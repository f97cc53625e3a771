package offload

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/tests/harness"
)

// TestTranslateShowsTheLeaseTheClientPut reads keys at etcd and translates
// them at a herald that did not write them: a key put with a virtual lease
// hangs on a carrier at etcd and is shown with the virtual lease (the
// herald waits for its index to reach the key's revision); a key put with
// an etcd lease, or with none, is shown as etcd has it, at once, without
// the index (the test holds the index's lock while it translates). A
// delete's previous key-value, through the herald, shows the virtual lease
// too.
func TestTranslateShowsTheLeaseTheClientPut(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ctx := harness.Context(t, time.Minute)

	id := a.grant(3)
	c := a.carrierOf(id)
	kv, ke, kn := f.key("virtual"), f.key("etcd"), f.key("none")
	a.put(kv, "v", id)
	atEtcd := kvAt(t, []byte(kv))
	if lease.ID(atEtcd.Lease) != c {
		t.Fatalf("%s hangs on %x at etcd, want the carrier %x", kv, atEtcd.Lease, uint64(c))
	}
	shown := proto.Clone(atEtcd).(*mvccpb.KeyValue)
	b.o.Translate(ctx, shown)
	if shown.Lease != id {
		t.Fatalf("%s shown at b with lease %x, want the virtual lease %x (b's index at %d, the key's revision %d)",
			kv, shown.Lease, id, b.o.IndexRev(), atEtcd.ModRevision)
	}

	g, err := shared.cli.Grant(ctx, &pb.LeaseGrantRequest{TTL: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := callCtx()
		defer cancel()
		_, _ = shared.cli.Revoke(ctx, &pb.LeaseRevokeRequest{ID: g.ID})
	})
	for _, p := range []*pb.PutRequest{{Key: []byte(ke), Value: []byte("e"), Lease: g.ID}, {Key: []byte(kn), Value: []byte("n")}} {
		if _, err := shared.cli.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	plain := []*mvccpb.KeyValue{kvAt(t, []byte(ke)), kvAt(t, []byte(kn))}
	want := []*mvccpb.KeyValue{proto.Clone(plain[0]).(*mvccpb.KeyValue), proto.Clone(plain[1]).(*mvccpb.KeyValue)}
	// Far ahead of any index: a translation that waited for the index
	// would wait.
	for _, p := range plain {
		p.ModRevision += 1 << 40
	}
	for _, w := range want {
		w.ModRevision += 1 << 40
	}
	done := make(chan struct{})
	func() {
		b.o.idx.mu.Lock()
		defer b.o.idx.mu.Unlock()
		go func() {
			defer close(done)
			b.o.Translate(ctx, plain...)
		}()
		select {
		case <-done:
		case <-time.After(patience):
			t.Error("translating keys on an etcd lease, or on none, waited for the index")
		}
	}()
	<-done
	for i := range plain {
		if !proto.Equal(plain[i], want[i]) {
			t.Errorf("translated %+v, want it as etcd has it: %+v", plain[i], want[i])
		}
	}

	del, err := b.txn(&pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestDeleteRange{
		RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte(kv), PrevKv: true}}}}})
	if err != nil {
		t.Fatal(err)
	}
	prev := del.Responses[0].GetResponseDeleteRange().GetPrevKvs()
	if len(prev) != 1 || prev[0].Lease != id {
		t.Fatalf("prev_kv of the delete through b: %+v, want lease %x", prev, id)
	}
}

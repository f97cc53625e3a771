package proxy

import (
	"log/slog"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/lease"
)

func newTestIndex() *fleetIndex {
	return newFleetIndex(nil, nil, newReserved("\x00herald/"), slog.New(slog.DiscardHandler), func(*pb.ResponseHeader) {})
}

func TestFleetIndexFollowsRecords(t *testing.T) {
	f := newTestIndex()
	put := func(key string, leaseID int64) {
		f.applyLocked(&mvccpb.KeyValue{Key: []byte(key), Lease: leaseID}, false)
	}
	del := func(key string) { f.applyLocked(&mvccpb.KeyValue{Key: []byte(key)}, true) }

	put("\x00herald/carriers/rack1/00000000000000c1", 0xc1)
	put("\x00herald/leases/00000000000000aa", 0xc1)
	put("\x00herald/keys/00000000000000aa//svc/a", 0xc1)
	if !f.isCarrier(0xc1) || f.isCarrier(0xc2) {
		t.Fatal("carrier set wrong")
	}
	if id, ok := f.leaseOf([]byte("/svc/a")); !ok || id != 0xaa {
		t.Fatalf("leaseOf(/svc/a) = %x, %v", id, ok)
	}
	if got := f.allLeases(); len(got) != 1 || got[0] != lease.ID(0xaa) {
		t.Fatalf("leases %v", got)
	}
	del("\x00herald/keys/00000000000000aa//svc/a")
	del("\x00herald/leases/00000000000000aa")
	// A deleted attachment is remembered for a while, for late DELETE events.
	if id, ok := f.leaseOf([]byte("/svc/a")); !ok || id != 0xaa {
		t.Fatalf("tombstone: leaseOf(/svc/a) = %x, %v", id, ok)
	}
	if len(f.allLeases()) != 0 {
		t.Fatal("deleted lease still listed")
	}
	// Malformed reserved keys are ignored.
	put("\x00herald/keys/nothex/x", 1)
	put("\x00herald/leases/12", 1)
	put("\x00herald/carriers/nope", 1)
	if len(f.allLeases()) != 0 || len(f.keyLease) != 0 || len(f.allCarriers()) != 1 {
		t.Fatal("a malformed key changed the index")
	}
}

// FuzzFleetIndexApply feeds arbitrary keys, as they could come back from
// etcd under the reserved prefix, to the index's parser.
func FuzzFleetIndexApply(f *testing.F) {
	f.Add([]byte("\x00herald/keys/00000000000000aa//svc/a"), int64(1), false)
	f.Add([]byte("\x00herald/carriers/r/00000000000000c1"), int64(0xc1), true)
	f.Add([]byte("\x00herald/leases/00000000000000aa"), int64(2), false)
	f.Fuzz(func(t *testing.T, key []byte, leaseID int64, deleted bool) {
		idx := newTestIndex()
		idx.applyLocked(&mvccpb.KeyValue{Key: key, Lease: leaseID}, deleted)
		idx.applyLocked(&mvccpb.KeyValue{Key: key, Lease: leaseID}, !deleted)
	})
}

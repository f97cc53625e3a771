package offload

import (
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// A successor retires the carrier it adopted once the carrier's leases
// have ended. etcd's DELETE of the carrier's record can reach the
// successor's index before the answer to its own retiring txn: that is its
// retirement, not a carrier that expired at etcd, and it says so.
func TestRetiringAnAdoptedCarrierIsNoLoss(t *testing.T) {
	f := newFleet(t)
	a, b := f.start("a"), f.start("b")
	ks := a.o.Keyspace()

	id := a.grant(1)
	c := a.carrierOf(id)
	a.crash()
	waitUntil(t, "b adopting a's carrier", func() bool { return b.owns(c) })
	waitUntil(t, "the adopted lease ended at b", func() bool {
		b.o.mu.Lock()
		defer b.o.mu.Unlock()
		return b.o.table.OnCarrier(c) == 0
	})

	// The next txn b sends is its retiring txn (no client is left): etcd
	// applies it, and its answer waits until the DELETE it caused has
	// reached b's index.
	b.conn.holdAnswers(txnMethod)
	waitUntil(t, "the carrier's record deleted at etcd", func() bool {
		_, ok := carrierRecordAt(t, ks, c)
		return !ok
	})
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := shared.cli.Range(ctx, &pb.RangeRequest{Key: ks.CarrierKey(c)})
	if err != nil {
		t.Fatal(err)
	}
	b.waitIndex(resp.Header.Revision)
	b.conn.releaseAnswers(txnMethod)

	waitUntil(t, "b retiring the carrier", func() bool { return strings.Contains(b.log.String(), "retired an empty adopted carrier") })
	if b.owns(c) {
		t.Fatalf("b still owns the retired carrier %x", uint64(c))
	}
	if log := b.log.String(); strings.Contains(log, "carrier lost") {
		t.Fatalf("b logged its own retirement of carrier %x as a loss:\n%s", uint64(c), log)
	}
}

package lease

import (
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

const benchLeases = 50_000

// benchTable holds n leases of TTL 10 s granted at t0, one key each, with
// expiries spread over the first second (as keepalives arrive spread out).
func benchTable(b *testing.B, n int) *Table {
	b.Helper()
	tab := New(Config{}, &seqIDs{})
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second / time.Duration(n))
		id, _, err := tab.Grant(NoLease, 10, 1, at)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tab.Attach(id, fmt.Sprintf("/svc/node-%06d", i), int64(i+1), at); err != nil {
			b.Fatal(err)
		}
	}
	return tab
}

// BenchmarkKeepAlive renews leases round-robin in a table of 50k, the clock
// advancing 1 µs per keepalive (every lease is renewed every 50 ms).
func BenchmarkKeepAlive(b *testing.B) {
	tab := benchTable(b, benchLeases)
	now := t0.Add(time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(time.Microsecond)
		if _, err := tab.KeepAlive(ID(i%benchLeases+1), now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTick: "idle" is a Tick with 50k live leases and nothing due
// (what a periodic driver pays most of the time); "rack-failure" is one
// Tick collecting all 50k leases at once, reported per expired lease too.
func BenchmarkTick(b *testing.B) {
	b.Run("idle-50k", func(b *testing.B) {
		tab := benchTable(b, benchLeases)
		now := t0.Add(time.Second)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if len(tab.Tick(now)) != 0 {
				b.Fatal("unexpected expiry")
			}
		}
	})
	b.Run("rack-failure-50k", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			b.StopTimer()
			tab := benchTable(b, benchLeases)
			b.StartTimer()
			if got := len(tab.Tick(t0.Add(time.Minute))); got != benchLeases {
				b.Fatalf("expired %d", got)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLeases), "ns/lease")
	})
}

// BenchmarkDeleteTxns plans a 5000-lease rack failure (one key each) into
// 127-op txns on two carriers.
func BenchmarkDeleteTxns(b *testing.B) {
	ks := NewKeyspace("\x00herald/")
	var doomed []Expired
	for i := range 5000 {
		doomed = append(doomed, Expired{ID: ID(i + 1), Carrier: ID(1 + i%2), Keys: []AttachedKey{{Key: fmt.Sprintf("/svc/node-%06d", i), Rev: int64(i + 10)}}})
	}
	fence := func(c ID) *pb.Compare { return ModIs(ks.CarrierKey(c), 5) }
	b.ReportAllocs()
	for range b.N {
		if n, want := len(ks.DeleteTxns(doomed, fence, DefaultMaxOpsPerTxn)), 2*oneKeyLeaseTxns(2500, DefaultMaxOpsPerTxn); n != want {
			b.Fatalf("%d txns", n)
		}
	}
}

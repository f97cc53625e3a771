package lease

import (
	"fmt"
	"testing"
	"time"
)

const benchLeases = 50_000

// benchTable holds n leases of TTL 10 s granted at t0, one key each, with
// expiries spread over the first second (as keepalives arrive spread out).
func benchTable(b *testing.B, n int) *Table {
	b.Helper()
	tab := New(Config{}, &seqIDs{})
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second / time.Duration(n))
		id, _, err := tab.Grant(NoLease, 10, at)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tab.Attach(id, fmt.Sprintf("/svc/node-%06d", i), at); err != nil {
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

// BenchmarkBatches splits a 5000-lease rack failure into 128-op txns.
func BenchmarkBatches(b *testing.B) {
	expired := rack(5000)
	b.ReportAllocs()
	for range b.N {
		if len(Batches(expired, DefaultMaxOpsPerTxn)) != 79 {
			b.Fatal("wrong batch count")
		}
	}
}

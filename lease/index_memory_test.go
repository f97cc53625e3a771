package lease

import (
	"fmt"
	"runtime"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/internal/heapstat"
)

// fleetSnapshot is the reserved keyspace of a fleet with n virtual leases,
// one key each (a service registration: /services/<svc>/<node>), on
// `carriers` carriers of `heralds` heralds.
func fleetSnapshot(n, heralds, carriers int) []*mvccpb.KeyValue {
	var kvs []*mvccpb.KeyValue
	rev := int64(1)
	put := func(key, value []byte, lease ID) {
		rev++
		kvs = append(kvs, &mvccpb.KeyValue{Key: key, Value: value, Lease: int64(lease), CreateRevision: rev, ModRevision: rev, Version: 1})
	}
	for h := range heralds {
		name := fmt.Sprintf("rack%03d-herald", h)
		put(testKS.SessionKey(name), SessionInfo{Name: name, URL: fmt.Sprintf("http://10.0.%d.1:2379", h)}.Encode(), ID(9000+h))
	}
	for c := range carriers {
		put(testKS.CarrierKey(ID(1000+c)), CarrierRecord{Owner: fmt.Sprintf("rack%03d-herald", c%heralds), Session: ID(9000 + c%heralds)}.Encode(), ID(1000+c))
	}
	for i := range n {
		id := ID(0x2312_0000_0000_0000 + i)
		c := ID(1000 + i%carriers)
		put(testKS.RecordKey(id), Record{ID: id, TTL: 10, Owner: "rack000-herald"}.Encode(), c)
		key := []byte(fmt.Sprintf("/services/svc%03d/node-%06d", i%100, i))
		put(testKS.AttachKey(id, key), nil, c)
	}
	return kvs
}

// BenchmarkIndexMemory reports the heap one herald's lease index takes per
// fleet lease (one key each) at 50k leases, the figure docs/benchmarks.md
// states, and the bounded extra of the deleted attachments it remembers:
//
//	go test -run '^$' -bench '^BenchmarkIndexMemory$' -benchtime 1x ./lease/
func BenchmarkIndexMemory(b *testing.B) {
	const leases = 50_000
	kvs := fleetSnapshot(leases, 10, 20)
	for range b.N {
		before := heapstat.Live()
		ix := NewIndex(testKS, 0)
		ix.Load(int64(len(kvs)+1), kvs)
		loaded := heapstat.Live()
		// Every lease ends: its record and attachment are deleted, and the
		// index remembers DefaultMaxTombs of the attachments.
		var evs []*mvccpb.Event
		rev := int64(len(kvs) + 1)
		for _, kv := range kvs {
			if p, ok := testKS.Parse(kv.Key); ok && (p.Kind == KindRecord || p.Kind == KindAttachment) {
				rev++
				evs = append(evs, &mvccpb.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: kv.Key, ModRevision: rev}})
			}
		}
		ix.Apply(rev, evs)
		evs = nil
		ended := heapstat.Live()
		if ix.NumLeases() != 0 {
			b.Fatalf("%d leases left", ix.NumLeases())
		}
		b.ReportMetric(float64(loaded-before)/leases, "B/lease")
		b.ReportMetric(float64(int64(ended)-int64(before))/1e6, "MB-tombs-after-all-ended")
		runtime.KeepAlive(ix)
	}
	runtime.KeepAlive(kvs)
}

// BenchmarkTableMemory reports the heap a herald's lease table takes per
// virtual lease it owns, with one key each (a registration):
//
//	go test -run '^$' -bench '^BenchmarkTableMemory$' -benchtime 1x ./lease/
func BenchmarkTableMemory(b *testing.B) {
	for range b.N {
		before := heapstat.Live()
		tab := benchTable(b, benchLeases)
		after := heapstat.Live()
		b.ReportMetric(float64(after-before)/benchLeases, "B/lease")
		runtime.KeepAlive(tab)
	}
}

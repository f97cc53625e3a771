package offload

import (
	"context"
	"slices"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/lease"
)

// translateWait bounds how long a read waits for the index to reach the
// revision of a key on a carrier (the attachment is in the same txn as the
// key, so the index normally has it within a feed hop).
const translateWait = 2 * time.Second

// Translate shows, on every key-value that hangs on a carrier at etcd, the
// virtual lease the key was put with. A key on any other lease is shown as
// it is, at once; keys on internal leases wait until the index has reached
// their revision.
func (o *Offloader) Translate(ctx context.Context, kvs ...*mvccpb.KeyValue) {
	internal := o.internalPrefix()
	var need int64
	carrier := func(kv *mvccpb.KeyValue) bool { return onCarrier(kv, internal) }
	for _, kv := range kvs {
		if carrier(kv) {
			need = max(need, kv.ModRevision)
		}
	}
	if need == 0 {
		return
	}
	o.WaitIndex(ctx, need, translateWait)
	o.idx.read(func(ix *lease.Index) {
		for _, kv := range kvs {
			if !carrier(kv) {
				continue
			}
			if id, ok := ix.VirtualLeaseOf(string(kv.Key), kv.ModRevision, lease.ID(kv.Lease)); ok {
				kv.Lease = int64(id)
			}
		}
	})
}

// onCarrier reports whether kv hangs on one of herald's internal leases
// (a carrier) at etcd.
func onCarrier(kv *mvccpb.KeyValue, internal uint16) bool {
	return kv != nil && kv.Lease != 0 && lease.IsInternal(lease.ID(kv.Lease), internal)
}

// TranslateEvents translates the key-values and previous key-values of
// watch events. It runs on every watch response a herald serves: events
// without a key on a carrier (a delete, a key without a lease) cost it no
// allocation.
func (o *Offloader) TranslateEvents(ctx context.Context, evs []*mvccpb.Event) {
	internal := o.internalPrefix()
	if !slices.ContainsFunc(evs, func(ev *mvccpb.Event) bool { return onCarrier(ev.Kv, internal) || onCarrier(ev.PrevKv, internal) }) {
		return
	}
	kvs := make([]*mvccpb.KeyValue, 0, 2*len(evs))
	for _, ev := range evs {
		kvs = append(kvs, ev.Kv, ev.PrevKv)
	}
	o.Translate(ctx, kvs...)
}

// TranslateTxn translates every key-value in a txn answer.
func (o *Offloader) TranslateTxn(ctx context.Context, resp *pb.TxnResponse) {
	var kvs []*mvccpb.KeyValue
	var walk func(*pb.TxnResponse)
	walk = func(t *pb.TxnResponse) {
		for _, r := range t.GetResponses() {
			switch {
			case r.GetResponseTxn() != nil:
				walk(r.GetResponseTxn())
			case r.GetResponseRange() != nil:
				kvs = append(kvs, r.GetResponseRange().Kvs...)
			case r.GetResponsePut() != nil:
				kvs = append(kvs, r.GetResponsePut().PrevKv)
			case r.GetResponseDeleteRange() != nil:
				kvs = append(kvs, r.GetResponseDeleteRange().PrevKvs...)
			}
		}
	}
	walk(resp)
	o.Translate(ctx, kvs...)
}

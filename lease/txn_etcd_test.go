package lease

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	etcdlease "go.etcd.io/etcd/server/v3/lease"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// heraldWorld runs the same client transactions against etcd alone, where
// virtual leases are real leases (client), and through herald's rewrite to
// the etcd behind it, where they are carriers, records and attachments
// (upstream). The upstream's reserved prefix feeds an Index, as the fleet's
// feed would, and the Index translates carriers back into virtual leases.
// Both stores move through the same revisions.
type heraldWorld struct {
	client, upstream *etcdStore
	ix               *Index
	carriers         map[ID]ID // the driver's table: virtual lease → carrier
}

// The world's leases: 42 and 43 on carrier 1001, 44 on carrier 1002, 45
// ended (the table still names its carrier, its record is gone), 7 a plain
// etcd lease, 77 h1's session.
func newHeraldWorld(t *testing.T) *heraldWorld {
	w := &heraldWorld{
		client:   newEtcdStore(t, 42, 43, 44, 7),
		upstream: newEtcdStore(t, 1001, 1002, 7, 77),
		ix:       NewIndex(testKS, 0),
		carriers: map[ID]ID{42: 1001, 43: 1001, 44: 1002, 45: 1001},
	}
	// Grants at etcd move no revision; herald's write records. Both happen
	// here beside a first user key, so that the revisions stay in step.
	w.client.mustTxn(&pb.TxnRequest{Success: []*pb.RequestOp{OpPut([]byte("/init"), []byte("i"), 0)}})
	up := []*pb.RequestOp{
		OpPut([]byte("/init"), []byte("i"), 0),
		OpPut(testKS.SessionKey("h1"), SessionInfo{Name: "h1", URL: "http://h1"}.Encode(), 77),
		OpPut(testKS.CarrierKey(1001), CarrierRecord{Owner: "h1", Session: 77}.Encode(), 1001),
		OpPut(testKS.CarrierKey(1002), CarrierRecord{Owner: "h1", Session: 77}.Encode(), 1002),
	}
	for _, id := range []ID{42, 43, 44} {
		up = append(up, OpPut(testKS.RecordKey(id), Record{ID: id, TTL: 10, Owner: "h1"}.Encode(), w.carriers[id]))
	}
	w.upstream.mustTxn(&pb.TxnRequest{Success: up})
	w.ix.Load(0, nil)
	w.feed(t)
	return w
}

// feed applies what the upstream's reserved prefix did to the index.
func (w *heraldWorld) feed(t *testing.T) {
	w.ix.Apply(w.upstream.rev(), w.upstream.events())
	if w.client.rev() != w.upstream.rev() {
		t.Fatalf("revisions out of step: etcd alone at %d, behind herald at %d", w.client.rev(), w.upstream.rev())
	}
}

// worldResolver is what the driver resolves with: its table's carriers and
// the fleet's index for attachments.
type worldResolver struct{ w *heraldWorld }

func (r worldResolver) CarrierOf(id ID) (ID, bool) {
	c, ok := r.w.carriers[id]
	return c, ok
}

func (r worldResolver) AttachedTo(key []byte) (ID, bool) {
	a, ok := r.w.ix.AttachedTo(string(key))
	return a.Lease, ok
}

func (r worldResolver) IsCarrier(id ID) bool {
	_, ok := r.w.ix.Carrier(id)
	return ok
}

// result is one client txn's answer both ways.
type result struct {
	want    *pb.TxnResponse // etcd alone
	wantErr error
	plan    *TxnPlan
	got     *pb.TxnResponse // through herald, leases translated
	outcome Outcome
	err     error
}

// do runs client txn r both ways.
func (w *heraldWorld) do(t *testing.T, r *pb.TxnRequest) result {
	t.Helper()
	var res result
	orig := proto.Clone(r)
	res.want, res.wantErr = w.client.txn(proto.Clone(r).(*pb.TxnRequest))
	plan, err := testKS.PlanTxn(r, true, worldResolver{w})
	if err != nil {
		t.Fatalf("PlanTxn: %v", err)
	}
	if !proto.Equal(r, orig) {
		t.Fatal("PlanTxn modified the client's request")
	}
	res.plan = plan
	up := plan.Txn
	if up == nil {
		up = r
	}
	resp, err := w.upstream.txn(up)
	if err == nil {
		res.got, res.outcome, res.err = plan.Finish(resp)
	} else {
		res.err = err
	}
	w.feed(t)
	if res.got != nil {
		w.translate(res.got)
	}
	return res
}

// check runs r both ways and fails on any difference the client could see:
// the answer, the error, the keyspace after it, and the index's view of it.
func (w *heraldWorld) check(t *testing.T, r *pb.TxnRequest) result {
	t.Helper()
	res := w.do(t, r)
	switch {
	case res.wantErr != nil || res.err != nil:
		if !sameError(res.wantErr, res.err) {
			t.Fatalf("etcd alone: %v; through herald: %v", res.wantErr, res.err)
		}
	case !proto.Equal(res.got, res.want):
		t.Fatalf("etcd alone answered:\n%s\nthrough herald:\n%s\nupstream txn:\n%s", prototext.Format(res.want), prototext.Format(res.got), fmtTxn(res.plan.Txn))
	case res.plan.Txn != nil && res.outcome.Rev != res.want.Header.Revision:
		t.Fatalf("Outcome.Rev %d, header %d", res.outcome.Rev, res.want.Header.Revision)
	}
	w.checkKeyspace(t)
	w.checkOutcome(t, res.outcome)
	return res
}

// sameError: herald's ErrLeaseNotFound is etcd's lease.ErrLeaseNotFound.
func sameError(etcd, herald error) bool {
	if errors.Is(etcd, etcdlease.ErrLeaseNotFound) {
		return errors.Is(herald, ErrLeaseNotFound) || errors.Is(herald, etcdlease.ErrLeaseNotFound)
	}
	return etcd == nil && herald == nil || etcd != nil && herald != nil && etcd.Error() == herald.Error()
}

// translate replaces carriers by virtual leases in every key-value of resp,
// as the driver does with the index.
func (w *heraldWorld) translate(resp *pb.TxnResponse) {
	fix := func(kvs ...*mvccpb.KeyValue) {
		for _, kv := range kvs {
			if kv == nil || (kv.Lease != 1001 && kv.Lease != 1002) {
				continue
			}
			if id, ok := w.ix.VirtualLeaseOf(string(kv.Key), kv.ModRevision, ID(kv.Lease)); ok {
				kv.Lease = int64(id)
			}
		}
	}
	for _, ro := range resp.GetResponses() {
		switch u := ro.Response.(type) {
		case *pb.ResponseOp_ResponseRange:
			fix(u.ResponseRange.GetKvs()...)
		case *pb.ResponseOp_ResponsePut:
			fix(u.ResponsePut.GetPrevKv())
		case *pb.ResponseOp_ResponseDeleteRange:
			fix(u.ResponseDeleteRange.GetPrevKvs()...)
		case *pb.ResponseOp_ResponseTxn:
			w.translate(u.ResponseTxn)
		}
	}
}

// checkKeyspace compares every key both ways (the reserved ones excepted,
// leases translated), and the index's attachments with the keys' leases.
func (w *heraldWorld) checkKeyspace(t *testing.T) {
	t.Helper()
	want := w.client.rangeAll()
	var got []*mvccpb.KeyValue
	for _, kv := range w.upstream.rangeAll() {
		if !testKS.Contains(kv.Key) {
			got = append(got, kv)
		}
	}
	w.translate(&pb.TxnResponse{Responses: []*pb.ResponseOp{{Response: &pb.ResponseOp_ResponseRange{ResponseRange: &pb.RangeResponse{Kvs: got}}}}})
	if !slices.EqualFunc(got, want, func(a, b *mvccpb.KeyValue) bool { return proto.Equal(a, b) }) {
		t.Fatalf("keyspace of etcd alone:\n%v\nbehind herald:\n%v", want, got)
	}
	for _, kv := range want {
		a, ok := w.ix.AttachedTo(string(kv.Key))
		_, virtual := w.carriers[ID(kv.Lease)]
		switch {
		// Every Put of a key on a virtual lease writes its attachment in the
		// same txn: the attachment's revision is the key's.
		case virtual && (!ok || a.Lease != ID(kv.Lease) || a.Rev != kv.ModRevision):
			t.Fatalf("%s is on virtual lease %d (mod %d), the index says %+v, %v", kv.Key, kv.Lease, kv.ModRevision, a, ok)
		case !virtual && ok:
			t.Fatalf("%s is on lease %d, the index still attaches it: %+v", kv.Key, kv.Lease, a)
		}
	}
}

// checkOutcome: what Finish says was attached is now on that lease, what it
// says was detached is not.
func (w *heraldWorld) checkOutcome(t *testing.T, out Outcome) {
	t.Helper()
	leaseOf := map[string]int64{}
	for _, kv := range w.client.rangeAll() {
		leaseOf[string(kv.Key)] = kv.Lease
	}
	for _, c := range out.Attached {
		if leaseOf[c.Key] != int64(c.Lease) {
			t.Fatalf("Outcome attached %s to %d; etcd alone has it on %d", c.Key, c.Lease, leaseOf[c.Key])
		}
	}
	for _, c := range out.Detached {
		if leaseOf[c.Key] == int64(c.Lease) {
			t.Fatalf("Outcome detached %s from %d; etcd alone still has it there", c.Key, c.Lease)
		}
	}
}

func fmtOutcome(o Outcome) string {
	var parts []string
	for _, c := range o.Attached {
		parts = append(parts, fmt.Sprintf("attached %d:%s", c.Lease, c.Key))
	}
	for _, c := range o.Detached {
		parts = append(parts, fmt.Sprintf("detached %d:%s", c.Lease, c.Key))
	}
	return strings.Join(parts, ", ")
}

// Client request builders.

func txnOf(ops ...*pb.RequestOp) *pb.TxnRequest { return &pb.TxnRequest{Success: ops} }

func opPutX(key, value string, lease ID, opts ...func(*pb.PutRequest)) *pb.RequestOp {
	op := OpPut([]byte(key), []byte(value), lease)
	for _, o := range opts {
		o(op.GetRequestPut())
	}
	return op
}

func prevKV(p *pb.PutRequest)      { p.PrevKv = true }
func ignoreLease(p *pb.PutRequest) { p.IgnoreLease = true }
func ignoreValue(p *pb.PutRequest) { p.IgnoreValue = true }
func opDel(key, end string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte(key), RangeEnd: bytesOrNil(end), PrevKv: true}}}
}

func opRng(key, end string) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte(key), RangeEnd: bytesOrNil(end)}}}
}

func opTxn(r *pb.TxnRequest) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: r}}
}

func bytesOrNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// TestPlanTxnAgainstEtcd runs client txns through PlanTxn and Finish against
// etcd's own store, and compares with the same txns against etcd alone:
// answers (leases translated through the index), errors, the keyspace
// after, and Outcome.
func TestPlanTxnAgainstEtcd(t *testing.T) {
	const all = "\x00"
	tests := []struct {
		name    string
		setup   []*pb.TxnRequest
		txn     *pb.TxnRequest
		outcome string
		plain   bool // forwarded as it came
	}{
		{name: "put without lease", txn: txnOf(opPutX("/x", "v", 0)), plain: true},
		{name: "put with an etcd lease", txn: txnOf(opPutX("/x", "v", 7)), plain: true},
		{name: "read of an attached key", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opRng("/b", "")), plain: true},
		{name: "put with a virtual lease", txn: txnOf(opPutX("/x", "v", 42)), outcome: "attached 42:/x"},
		{name: "put with a virtual lease, read in the same txn",
			txn: txnOf(opPutX("/x", "v", 42), opRng("/", "0")), outcome: "attached 42:/x"},
		{name: "two virtual leases, two carriers",
			txn: txnOf(opPutX("/x", "v", 42), opPutX("/y", "v", 44), opPutX("/z", "v", 42)), outcome: "attached 42:/x, attached 44:/y, attached 42:/z"},
		{name: "move between leases of one carrier", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opPutX("/b", "w", 42, prevKV)), outcome: "attached 42:/b, detached 43:/b"},
		{name: "move across carriers", setup: []*pb.TxnRequest{txnOf(opPutX("/c", "v", 44))},
			txn: txnOf(opPutX("/c", "w", 42, prevKV)), outcome: "attached 42:/c, detached 44:/c"},
		{name: "re-put with the same lease", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opPutX("/b", "w", 43, prevKV)), outcome: "attached 43:/b"},
		{name: "ignore_lease put of an attached key", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opPutX("/b", "w", 0, ignoreLease, prevKV)), outcome: "attached 43:/b"},
		{name: "ignore_value put with a new lease", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opPutX("/b", "", 44, ignoreValue, prevKV)), outcome: "attached 44:/b, detached 43:/b"},
		{name: "put without lease detaches", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opPutX("/b", "w", 0, prevKV)), outcome: "detached 43:/b"},
		{name: "put with an etcd lease detaches", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opPutX("/b", "w", 7, prevKV)), outcome: "detached 43:/b"},
		{name: "delete of an attached key", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(opDel("/b", "")), outcome: "detached 43:/b"},
		{name: "delete of everything, around the reserved keys",
			setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43), opPutX("\x00a", "low", 44), opPutX("\x00z", "mid", 0))},
			txn:   txnOf(opDel(all, all))},
		{name: "read of everything, around the reserved keys",
			setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43), opPutX("\x00a", "low", 44))},
			txn:   txnOf(opRng(all, all), opRng(all, "\x00herald/z"), opRng("\x00herald/a", "/c"))},
		{name: "read inside the reserved keys only", txn: txnOf(opRng("\x00herald/a", "\x00herald/z"), opRng(string(testKS.RecordKey(42)), ""))},
		{name: "compare takes the failure branch", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: &pb.TxnRequest{
				Compare: []*pb.Compare{ModIs([]byte("/b"), 999)},
				Success: []*pb.RequestOp{opPutX("/x", "v", 42)},
				Failure: []*pb.RequestOp{opPutX("/y", "v", 44), opPutX("/b", "w", 0), opRng(all, all)},
			}, outcome: "attached 44:/y, detached 43:/b"},
		{name: "compare takes the success branch", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: &pb.TxnRequest{
				Compare: []*pb.Compare{Exists([]byte("/b"))},
				Success: []*pb.RequestOp{opPutX("/x", "v", 42)},
				Failure: []*pb.RequestOp{opPutX("/y", "v", 44)},
			}, outcome: "attached 42:/x"},
		{name: "nested txns", setup: []*pb.TxnRequest{txnOf(opPutX("/b", "v", 43))},
			txn: txnOf(
				opPutX("/x", "v", 44),
				opTxn(&pb.TxnRequest{
					Compare: []*pb.Compare{Exists([]byte("/b"))},
					Success: []*pb.RequestOp{opPutX("/b", "w", 42, prevKV), opTxn(txnOf(opPutX("/y", "v", 43), opDel("/init", "")))},
					Failure: []*pb.RequestOp{opPutX("/z", "v", 42)},
				}),
				opRng(all, all),
			), outcome: "attached 44:/x, attached 42:/b, attached 43:/y, detached 43:/b"},
		// A lease herald does not know goes up as it is, for etcd to judge.
		{name: "unknown lease", txn: txnOf(opPutX("/x", "v", 46)), plain: true},
		{name: "ended virtual lease", txn: txnOf(opPutX("/x", "v", 45))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newHeraldWorld(t)
			for _, r := range tc.setup {
				w.check(t, r)
			}
			res := w.check(t, tc.txn)
			if (res.plan.Txn == nil) != tc.plain {
				t.Fatalf("forwarded as it came: %v, want %v", res.plan.Txn == nil, tc.plain)
			}
			if got := fmtOutcome(res.outcome); got != tc.outcome {
				t.Fatalf("Outcome %q, want %q", got, tc.outcome)
			}
			w.expireAll(t)
		})
	}
}

// expireAll ends every virtual lease both ways: etcd alone deletes the keys
// on them, as a revoke does; herald's owner deletes what its index lists
// with DeleteTxns, fenced by the carriers' claims. The same keys and values
// must be left (revisions part ways here: herald deletes in several txns).
func (w *heraldWorld) expireAll(t *testing.T) {
	t.Helper()
	var dels []*pb.RequestOp
	for _, kv := range w.client.rangeAll() {
		if _, virtual := w.carriers[ID(kv.Lease)]; virtual {
			dels = append(dels, OpDelete(kv.Key, nil))
		}
	}
	if len(dels) > 0 {
		w.client.mustTxn(txnOf(dels...))
	}
	var doomed []Expired
	for _, c := range []ID{1001, 1002} {
		on := w.ix.AttachmentsOn(c)
		ids := w.ix.LeasesOn(c)
		for id := range on {
			if !slices.Contains(ids, id) {
				ids = append(ids, id) // an attachment whose record is gone
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			doomed = append(doomed, Expired{ID: id, Carrier: c, Keys: on[id]})
		}
	}
	fence := func(c ID) *pb.Compare {
		rec, ok := w.ix.Carrier(c)
		if !ok {
			t.Fatalf("carrier %d unknown to the index", c)
		}
		return ModIs(testKS.CarrierKey(c), rec.Rev)
	}
	for _, d := range testKS.DeleteTxns(doomed, fence, 5) {
		if resp := w.upstream.mustTxn(d.Txn); !resp.Succeeded {
			t.Fatalf("delete txn on carrier %d: fence failed", d.Carrier)
		}
	}
	w.ix.Apply(w.upstream.rev(), w.upstream.events())
	type kv struct {
		key, value string
		lease      int64
	}
	var want, got []kv
	for _, x := range w.client.rangeAll() {
		want = append(want, kv{string(x.Key), string(x.Value), x.Lease})
	}
	for _, x := range w.upstream.rangeAll() {
		if p, _ := testKS.Parse(x.Key); !testKS.Contains(x.Key) || p.Kind == KindRecord || p.Kind == KindAttachment {
			got = append(got, kv{fmtKey(x.Key), string(x.Value), x.Lease})
			if testKS.Contains(x.Key) {
				continue
			}
			got[len(got)-1].key = string(x.Key)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after every virtual lease ended, etcd alone holds\n%v\nbehind herald:\n%v", want, got)
	}
}

// TestPlanTxnEndedLeaseInOtherBranch: etcd checks the leases of the branch
// that runs only; herald compares the records of both branches' leases, so
// a txn that names an ended virtual lease in the branch that would not run
// is refused as a whole (documented in txn_plan.go). This pins that it is
// refused cleanly: ErrLeaseNotFound, nothing written.
func TestPlanTxnEndedLeaseInOtherBranch(t *testing.T) {
	w := newHeraldWorld(t)
	r := &pb.TxnRequest{
		Compare: []*pb.Compare{Absent([]byte("/init"))},
		Success: []*pb.RequestOp{opPutX("/x", "v", 45)},
		Failure: []*pb.RequestOp{opPutX("/y", "v", 42)},
	}
	before := w.upstream.rev()
	plan, err := testKS.PlanTxn(r, true, worldResolver{w})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := w.upstream.txn(plan.Txn)
	if err != nil {
		t.Fatal(err)
	}
	if got, out, err := plan.Finish(resp); !errors.Is(err, ErrLeaseNotFound) || got != nil || fmtOutcome(out) != "" {
		t.Fatalf("Finish = %v, %+v, %v; want ErrLeaseNotFound", got, out, err)
	}
	if w.upstream.rev() != before {
		t.Fatalf("a refused txn wrote: revision %d → %d", before, w.upstream.rev())
	}
	if want, err := w.client.txn(r); err != nil || want.Succeeded {
		t.Fatalf("etcd alone: %v, %v; want its failure branch run", want, err)
	}
}

// TestPlanTxnCompareLeaseOfAttachedKey: a client's compare on the lease of
// a key it put with a virtual lease (clientv3.Compare(clientv3.LeaseValue(k),
// "=", id)) must see that lease, as etcd alone does, not the carrier.
func TestPlanTxnCompareLeaseOfAttachedKey(t *testing.T) {
	leaseIs := func(key string, id ID, result pb.Compare_CompareResult) *pb.Compare {
		return &pb.Compare{Key: []byte(key), Target: pb.Compare_LEASE, Result: result, TargetUnion: &pb.Compare_Lease{Lease: int64(id)}}
	}
	tests := []struct {
		name    string
		cmp     *pb.Compare
		refused bool // herald refuses it (ErrLeaseCompare) rather than answer wrong
	}{
		{"equal to its virtual lease", leaseIs("/b", 43, pb.Compare_EQUAL), false},
		{"equal to its carrier", leaseIs("/b", 1001, pb.Compare_EQUAL), false},
		{"not equal to its carrier", leaseIs("/b", 1001, pb.Compare_NOT_EQUAL), false},
		{"not equal to its virtual lease", leaseIs("/b", 43, pb.Compare_NOT_EQUAL), true},
		{"greater than a virtual lease", leaseIs("/b", 42, pb.Compare_GREATER), true},
		{"equal to another lease of the same carrier", leaseIs("/b", 42, pb.Compare_EQUAL), false},
		{"equal to no lease", leaseIs("/b", 0, pb.Compare_EQUAL), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newHeraldWorld(t)
			if tc.refused {
				txn := &pb.TxnRequest{Compare: []*pb.Compare{tc.cmp}}
				if _, err := testKS.PlanTxn(txn, true, worldResolver{w}); !errors.Is(err, ErrLeaseCompare) {
					t.Fatalf("PlanTxn = %v, want %v", err, ErrLeaseCompare)
				}
				return
			}
			w.check(t, txnOf(opPutX("/b", "v", 43)))
			w.check(t, &pb.TxnRequest{
				Compare: []*pb.Compare{tc.cmp},
				Success: []*pb.RequestOp{opPutX("/then", "v", 0)},
				Failure: []*pb.RequestOp{opPutX("/else", "v", 0)},
			})
		})
	}
}

// TestMergeRangesAgainstEtcd reads ranges that span the reserved keyspace
// with every sort target and order, limits and filters, through PlanTxn
// and Finish (so MergeRanges) from an etcd that holds herald's keys, and
// compares with the same range from an etcd without them. The keys differ
// in every sort target (no ties, whose order etcd leaves to its unstable
// sort) and lie on both sides of the reserved keyspace.
func TestMergeRangesAgainstEtcd(t *testing.T) {
	client, upstream := newEtcdStore(t), newEtcdStore(t, 1001)
	keys := []string{"\x00a", "\x00b", "\x00z", "/k1", "/k2", "/k3", "\xfe"}
	created := []int{3, 0, 5, 1, 6, 2, 4} // creation order
	extra := []int{2, 0, 5, 1, 3, 6, 4}   // puts after the first: all versions differ
	write := func(i, n int, more ...*pb.RequestOp) {
		v := fmt.Sprintf("v%02d-%d", (i*5+3)%7, n) // value order is not key order
		client.mustTxn(txnOf(OpPut([]byte(keys[i]), []byte(v), 0)))
		upstream.mustTxn(txnOf(append([]*pb.RequestOp{OpPut([]byte(keys[i]), []byte(v), 0)}, more...)...))
	}
	for n, i := range created {
		var reserved []*pb.RequestOp
		if n == 0 {
			reserved = []*pb.RequestOp{
				OpPut(testKS.CarrierKey(1001), CarrierRecord{Owner: "h1", Session: 77}.Encode(), 1001),
				OpPut(testKS.RecordKey(42), Record{ID: 42, TTL: 10}.Encode(), 1001),
				OpPut(testKS.AttachKey(42, []byte("/k1")), nil, 1001),
			}
		}
		write(i, 0, reserved...)
	}
	for round := 1; round <= 6; round++ { // interleaved, so mod order is its own
		for _, i := range []int{6, 2, 4, 0, 5, 3, 1} {
			if extra[i] >= round {
				write(i, round)
			}
		}
	}
	if client.rev() != upstream.rev() {
		t.Fatalf("revisions out of step: %d, %d", client.rev(), upstream.rev())
	}
	spans := []Span{
		{Key: []byte{0}, End: []byte{0}},
		{Key: []byte{0}, End: []byte("\x00herald/m")},
		{Key: []byte("\x00herald/m"), End: []byte("\xff")},
		{Key: []byte("\x00a"), End: []byte("/k3")},
	}
	variants := []struct {
		name string
		set  func(r *pb.RangeRequest)
	}{
		{"plain", func(r *pb.RangeRequest) {}},
		{"keys_only", func(r *pb.RangeRequest) { r.KeysOnly = true }},
		{"count_only", func(r *pb.RangeRequest) { r.CountOnly = true }},
		{"min_mod_revision", func(r *pb.RangeRequest) { r.MinModRevision = 12 }},
		{"max_create_revision", func(r *pb.RangeRequest) { r.MaxCreateRevision = 5 }},
		{"at revision 10", func(r *pb.RangeRequest) { r.Revision = 10 }},
	}
	for _, target := range []pb.RangeRequest_SortTarget{pb.RangeRequest_KEY, pb.RangeRequest_VERSION, pb.RangeRequest_CREATE, pb.RangeRequest_MOD, pb.RangeRequest_VALUE} {
		for _, order := range []pb.RangeRequest_SortOrder{pb.RangeRequest_NONE, pb.RangeRequest_ASCEND, pb.RangeRequest_DESCEND} {
			t.Run(fmt.Sprintf("%v %v", target, order), func(t *testing.T) {
				mismatches := 0
				var failed []string // variants
				defer func() {
					if mismatches > 0 {
						slices.Sort(failed)
						t.Errorf("%d of %d ranges differ (variants %v)", mismatches, len(spans)*4*len(variants), slices.Compact(failed))
					}
				}()
				for _, sp := range spans {
					for _, limit := range []int64{0, 1, 2, 4} {
						for _, variant := range variants {
							r := &pb.RangeRequest{Key: sp.Key, RangeEnd: sp.End, SortTarget: target, SortOrder: order, Limit: limit}
							variant.set(r)
							req := txnOf(&pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: r}})
							want := client.mustTxn(proto.Clone(req).(*pb.TxnRequest))
							plan, err := testKS.PlanTxn(req, false, mapResolver{})
							if err != nil || plan.Txn == nil {
								t.Fatalf("PlanTxn = %v, %v; want a split", plan, err)
							}
							got, _, err := plan.Finish(upstream.mustTxn(plan.Txn))
							if err != nil {
								t.Fatal(err)
							}
							if !proto.Equal(got, want) {
								if mismatches == 0 {
									t.Errorf("range %q..%q limit %d %s:\netcd alone:\n%s\nthrough herald:\n%s",
										sp.Key, sp.End, limit, variant.name, fmtRangeResp(want), fmtRangeResp(got))
								}
								mismatches++
								failed = append(failed, variant.name)
							}
						}
					}
				}
			})
		}
	}
}

func fmtRangeResp(t *pb.TxnResponse) string {
	r := t.Responses[0].GetResponseRange()
	var b strings.Builder
	fmt.Fprintf(&b, "  header=%v count=%d more=%v\n", r.GetHeader(), r.Count, r.More)
	for _, kv := range r.Kvs {
		fmt.Fprintf(&b, "  %q version=%d create=%d mod=%d value=%q\n", kv.Key, kv.Version, kv.CreateRevision, kv.ModRevision, kv.Value)
	}
	return b.String()
}

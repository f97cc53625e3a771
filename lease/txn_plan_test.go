package lease

import (
	"errors"
	"slices"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

// mapResolver resolves from two maps: virtual lease → carrier, and key →
// the virtual lease it hangs on.
type mapResolver struct {
	carriers map[ID]ID
	attached map[string]ID
}

func (r mapResolver) CarrierOf(id ID) (ID, bool) {
	c, ok := r.carriers[id]
	return c, ok
}

func (r mapResolver) AttachedTo(key []byte) (ID, bool) {
	id, ok := r.attached[string(key)]
	return id, ok
}

func (r mapResolver) IsCarrier(id ID) bool {
	for _, c := range r.carriers {
		if c == id {
			return true
		}
	}
	return false
}

// testResolver: 42, 43 on carrier 1001, 44 on 1002; /b hangs on 43, /c on 44.
var testResolver = mapResolver{
	carriers: map[ID]ID{42: 1001, 43: 1001, 44: 1002},
	attached: map[string]ID{"/b": 43, "/c": 44},
}

func TestPlanTxn(t *testing.T) {
	tests := []struct {
		name    string
		txn     *pb.TxnRequest
		offload bool
		want    string // the upstream txn; "" when forwarded as it came
	}{
		{name: "plain put", offload: true, txn: txnOf(opPutX("/a", "v", 0))},
		{name: "put with an etcd lease", offload: true, txn: txnOf(opPutX("/a", "v", 7))},
		{name: "reads and deletes of unattached keys", offload: true,
			txn: txnOf(opRng("/a", ""), opRng("/a", "/z"), opDel("/a", ""), opDel("/a", "/z"))},
		{name: "put with a virtual lease", offload: true, txn: txnOf(opPutX("/a", "v", 42)), want: `
if version(record(42)) > 0
then
  txn
    then
      put /a value="v" lease=1001
      put attach(42,/a) lease=1001
`},
		{name: "put moving a key to another virtual lease", offload: true, txn: txnOf(opPutX("/b", "v", 42, prevKV)), want: `
if version(record(42)) > 0
then
  txn
    then
      put /b value="v" lease=1001 prev_kv
      put attach(42,/b) lease=1001
      delete attach(43,/b)
`},
		{name: "put with the lease the key has", offload: true, txn: txnOf(opPutX("/b", "v", 43)), want: `
if version(record(43)) > 0
then
  txn
    then
      put /b value="v" lease=1001
      put attach(43,/b) lease=1001
`},
		{name: "ignore_lease put of an attached key refreshes its attachment", offload: true, txn: txnOf(opPutX("/c", "v", 0, ignoreLease)), want: `
if version(record(44)) > 0
then
  txn
    then
      put /c value="v" ignore_lease
      put attach(44,/c) lease=1002
`},
		{name: "ignore_lease put of an unattached key", offload: true, txn: txnOf(opPutX("/a", "v", 0, ignoreLease))},
		{name: "put without lease detaches, unguarded", offload: true, txn: txnOf(opPutX("/b", "v", 0)), want: `
then
  put /b value="v"
  delete attach(43,/b)
`},
		{name: "put with an etcd lease detaches", offload: true, txn: txnOf(opPutX("/b", "v", 7)), want: `
then
  put /b value="v" lease=7
  delete attach(43,/b)
`},
		{name: "single-key delete of an attached key", offload: true, txn: txnOf(opDel("/b", "")), want: `
then
  delete /b prev_kv
  delete attach(43,/b)
`},
		{name: "range delete of attached keys leaves their attachments", offload: true, txn: txnOf(opDel("/a", "/z"))},
		{name: "range delete over the reserved keys is split", offload: true, txn: txnOf(opDel("\x00", "\x00")), want: `
then
  txn
    then
      delete "\x00" end="\x00herald/" prev_kv
      delete "\x00herald0" end="\x00" prev_kv
`},
		{name: "range read over the reserved keys is split", offload: true, txn: txnOf(opRng("\x00", "\x00"), opRng("\x00herald/m", "/x")), want: `
then
  txn
    then
      range "\x00" end="\x00herald/"
      range "\x00herald0" end="\x00"
  txn
    then
      range "\x00herald0" end=/x
`},
		{name: "single-key read of a reserved key reads nothing", offload: true, txn: txnOf(opRng(string(testKS.RecordKey(42)), "")), want: `
then
  txn
    then
`},
		{name: "extras go into the branch of their op", offload: true, txn: &pb.TxnRequest{
			Compare: []*pb.Compare{Exists([]byte("/a"))},
			Success: []*pb.RequestOp{opPutX("/x", "v", 42), opRng("/x", "")},
			Failure: []*pb.RequestOp{opPutX("/y", "v", 44), opDel("/c", "")},
		}, want: `
if version(record(42)) > 0 && version(record(44)) > 0
then
  txn
    if version(/a) > 0
    then
      put /x value="v" lease=1001
      range /x
      put attach(42,/x) lease=1001
    else
      put /y value="v" lease=1002
      delete /c prev_kv
      put attach(44,/y) lease=1002
      delete attach(44,/c)
`},
		{name: "nested txns keep their extras inside", offload: true, txn: txnOf(
			opPutX("/x", "v", 42),
			opTxn(&pb.TxnRequest{
				Compare: []*pb.Compare{Exists([]byte("/a"))},
				Success: []*pb.RequestOp{opPutX("/y", "v", 43), opTxn(txnOf(opPutX("/b", "v", 0)))},
				Failure: []*pb.RequestOp{opPutX("/z", "v", 42)},
			}),
			opRng("/", ""),
		), want: `
if version(record(42)) > 0 && version(record(43)) > 0
then
  txn
    then
      put /x value="v" lease=1001
      txn
        if version(/a) > 0
        then
          put /y value="v" lease=1001
          txn
            then
              put /b value="v"
              delete attach(43,/b)
          put attach(43,/y) lease=1001
        else
          put /z value="v" lease=1001
          put attach(42,/z) lease=1001
      range /
      put attach(42,/x) lease=1001
`},
		{name: "offload off: virtual leases are not rewritten", txn: txnOf(opPutX("/a", "v", 42), opPutX("/b", "v", 0), opDel("/c", ""))},
		{name: "offload off: reads are still split", txn: txnOf(opRng("\x00", "\x00")), want: `
then
  txn
    then
      range "\x00" end="\x00herald/"
      range "\x00herald0" end="\x00"
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := proto.Clone(tc.txn).(*pb.TxnRequest)
			plan, err := testKS.PlanTxn(tc.txn, tc.offload, testResolver)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(tc.txn, orig) {
				t.Fatal("PlanTxn modified the client's request")
			}
			if tc.want == "" {
				if plan.Txn != nil {
					t.Fatalf("rewritten, want forwarded as it came:\n%s", fmtTxn(plan.Txn))
				}
				return
			}
			if plan.Txn == nil {
				t.Fatal("forwarded as it came")
			}
			if got, want := fmtTxn(plan.Txn), strings.TrimPrefix(tc.want, "\n"); got != want {
				t.Fatalf("upstream txn:\n%s\nwant:\n%s", got, want)
			}
			inner := plan.Txn
			if plan.guarded {
				if len(inner.Success) != 1 || len(inner.Failure) != 0 || inner.Success[0].GetRequestTxn() == nil {
					t.Fatalf("guard holds more than the client's txn:\n%s", fmtTxn(plan.Txn))
				}
				inner = inner.Success[0].GetRequestTxn()
			}
			checkPositions(t, tc.txn, inner)
		})
	}
}

// checkPositions: the upstream txn keeps the client's compares, and each of
// the client's operations at its position in its branch (herald's come
// after), of the same kind or replaced by a nested txn of its parts.
func checkPositions(t *testing.T, client, up *pb.TxnRequest) {
	t.Helper()
	if !slices.EqualFunc(client.Compare, up.Compare, func(a, b *pb.Compare) bool { return proto.Equal(a, b) }) {
		t.Fatalf("compares %v, upstream %v", client.Compare, up.Compare)
	}
	for _, br := range [][2][]*pb.RequestOp{{client.Success, up.Success}, {client.Failure, up.Failure}} {
		c, u := br[0], br[1]
		if len(u) < len(c) {
			t.Fatalf("%d client ops, %d upstream", len(c), len(u))
		}
		for i, op := range c {
			uop := u[i]
			switch x := op.Request.(type) {
			case *pb.RequestOp_RequestPut:
				p := uop.GetRequestPut()
				if p == nil || string(p.Key) != string(x.RequestPut.Key) || string(p.Value) != string(x.RequestPut.Value) ||
					p.PrevKv != x.RequestPut.PrevKv || p.IgnoreLease != x.RequestPut.IgnoreLease || p.IgnoreValue != x.RequestPut.IgnoreValue {
					t.Fatalf("op %d: client %v, upstream %v", i, op, uop)
				}
			case *pb.RequestOp_RequestRange:
				if g := uop.GetRequestRange(); g == nil && uop.GetRequestTxn() == nil || g != nil && !proto.Equal(g, x.RequestRange) {
					t.Fatalf("op %d: client %v, upstream %v", i, op, uop)
				}
			case *pb.RequestOp_RequestDeleteRange:
				if g := uop.GetRequestDeleteRange(); g == nil && uop.GetRequestTxn() == nil || g != nil && !proto.Equal(g, x.RequestDeleteRange) {
					t.Fatalf("op %d: client %v, upstream %v", i, op, uop)
				}
			case *pb.RequestOp_RequestTxn:
				if uop.GetRequestTxn() == nil {
					t.Fatalf("op %d: client %v, upstream %v", i, op, uop)
				}
				checkPositions(t, x.RequestTxn, uop.GetRequestTxn())
			}
		}
	}
}

func TestPlanTxnReserved(t *testing.T) {
	record := string(testKS.RecordKey(42))
	tests := []struct {
		name string
		txn  *pb.TxnRequest
	}{
		{"put of a record", txnOf(opPutX(record, "x", 0))},
		{"put of the bare prefix", txnOf(opPutX(testPrefix, "x", 0))},
		{"put with a virtual lease into the prefix", txnOf(opPutX(record, "x", 42))},
		{"single-key delete of a record", txnOf(opDel(record, ""))},
		{"range delete inside the prefix", txnOf(opDel(testPrefix, "\x00herald0"))},
		{"range delete starting inside, ending inside", txnOf(opDel("\x00herald/a", "\x00herald/z"))},
		{"in the failure branch", &pb.TxnRequest{Failure: []*pb.RequestOp{opPutX(record, "x", 0)}}},
		{"in a nested txn", txnOf(opPutX("/a", "v", 42), opTxn(&pb.TxnRequest{Failure: []*pb.RequestOp{opDel(record, "")}}))},
	}
	for _, tc := range tests {
		for _, offload := range []bool{true, false} {
			plan, err := testKS.PlanTxn(tc.txn, offload, testResolver)
			if !errors.Is(err, ErrReserved) || plan != nil {
				t.Errorf("%s (offload %v): PlanTxn = %v, %v; want ErrReserved", tc.name, offload, plan, err)
			}
		}
	}
}

func TestLeasesIn(t *testing.T) {
	r := &pb.TxnRequest{
		Success: []*pb.RequestOp{
			opPutX("/a", "v", 42), opPutX("/b", "v", 0), opPutX("/c", "v", 42),
			opTxn(&pb.TxnRequest{Success: []*pb.RequestOp{opPutX("/d", "v", 7)}, Failure: []*pb.RequestOp{opPutX("/e", "v", 44)}}),
			opRng("/a", ""), opDel("/a", ""),
		},
		Failure: []*pb.RequestOp{opPutX("/f", "v", 43), opPutX("/g", "v", 0, ignoreLease)},
	}
	if got := LeasesIn(r); !slices.Equal(got, []ID{42, 7, 44, 43}) {
		t.Fatalf("LeasesIn = %v, want [42 7 44 43]", got)
	}
	if got := LeasesIn(&pb.TxnRequest{}); len(got) != 0 {
		t.Fatalf("LeasesIn(empty) = %v", got)
	}
}

// TestFinishForwarded: a plan with nothing rewritten hands the answer back.
func TestFinishForwarded(t *testing.T) {
	plan, err := testKS.PlanTxn(txnOf(opPutX("/a", "v", 0)), true, testResolver)
	if err != nil || plan.Txn != nil {
		t.Fatalf("PlanTxn = %v, %v", plan, err)
	}
	resp := &pb.TxnResponse{Header: &pb.ResponseHeader{Revision: 5}, Succeeded: true,
		Responses: []*pb.ResponseOp{{Response: &pb.ResponseOp_ResponsePut{ResponsePut: &pb.PutResponse{Header: &pb.ResponseHeader{Revision: 5}}}}}}
	got, out, err := plan.Finish(resp)
	if err != nil || got != resp || fmtOutcome(out) != "" || out.Rev != 0 {
		t.Fatalf("Finish = %v, %+v, %v", got, out, err)
	}
}

// TestFinishGuardFailed: the record compares failed (the lease ended before
// the txn ran), or the answer is not the shape the guarded txn has:
// ErrLeaseNotFound, as etcd answers a Put with a lease it does not know.
func TestFinishGuardFailed(t *testing.T) {
	plan, err := testKS.PlanTxn(txnOf(opPutX("/a", "v", 42)), true, testResolver)
	if err != nil {
		t.Fatal(err)
	}
	inner := &pb.TxnResponse{Header: &pb.ResponseHeader{}, Succeeded: true, Responses: []*pb.ResponseOp{
		{Response: &pb.ResponseOp_ResponsePut{ResponsePut: &pb.PutResponse{}}},
		{Response: &pb.ResponseOp_ResponsePut{ResponsePut: &pb.PutResponse{}}},
	}}
	for name, resp := range map[string]*pb.TxnResponse{
		"compares failed":    {Header: &pb.ResponseHeader{Revision: 9}, Succeeded: false},
		"no inner txn":       {Header: &pb.ResponseHeader{Revision: 9}, Succeeded: true},
		"not a txn response": {Header: &pb.ResponseHeader{Revision: 9}, Succeeded: true, Responses: inner.Responses[:1]},
	} {
		if got, out, err := plan.Finish(resp); !errors.Is(err, ErrLeaseNotFound) || got != nil || fmtOutcome(out) != "" {
			t.Errorf("%s: Finish = %v, %+v, %v; want ErrLeaseNotFound", name, got, out, err)
		}
	}
	resp := &pb.TxnResponse{Header: &pb.ResponseHeader{Revision: 9}, Succeeded: true,
		Responses: []*pb.ResponseOp{{Response: &pb.ResponseOp_ResponseTxn{ResponseTxn: inner}}}}
	got, out, err := plan.Finish(resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Responses) != 1 || got.Header.GetRevision() != 9 || !got.Succeeded {
		t.Fatalf("Finish = %v", got)
	}
	if fmtOutcome(out) != "attached 42:/a" || out.Rev != 9 {
		t.Fatalf("Outcome %+v", out)
	}
}

// TestFinishExecutedBranchOnly: Outcome reports the branch etcd ran, at
// every depth, and strips herald's responses there.
func TestFinishExecutedBranchOnly(t *testing.T) {
	r := &pb.TxnRequest{
		Compare: []*pb.Compare{Exists([]byte("/a"))},
		Success: []*pb.RequestOp{opPutX("/x", "v", 0), opTxn(&pb.TxnRequest{
			Success: []*pb.RequestOp{opPutX("/b", "v", 0)},
			Failure: []*pb.RequestOp{opPutX("/y", "v", 44)},
		})},
		Failure: []*pb.RequestOp{opDel("/c", "")},
	}
	plan, err := testKS.PlanTxn(r, true, testResolver)
	if err != nil {
		t.Fatal(err)
	}
	put := func() *pb.ResponseOp {
		return &pb.ResponseOp{Response: &pb.ResponseOp_ResponsePut{ResponsePut: &pb.PutResponse{Header: &pb.ResponseHeader{Revision: 9}}}}
	}
	del := func() *pb.ResponseOp {
		return &pb.ResponseOp{Response: &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: &pb.DeleteRangeResponse{Header: &pb.ResponseHeader{Revision: 9}}}}
	}
	nested := func(ok bool, ops ...*pb.ResponseOp) *pb.ResponseOp {
		return &pb.ResponseOp{Response: &pb.ResponseOp_ResponseTxn{ResponseTxn: &pb.TxnResponse{Header: &pb.ResponseHeader{}, Succeeded: ok, Responses: ops}}}
	}
	guarded := func(inner *pb.ResponseOp) *pb.TxnResponse {
		return &pb.TxnResponse{Header: &pb.ResponseHeader{Revision: 9}, Succeeded: true, Responses: []*pb.ResponseOp{inner}}
	}
	tests := []struct {
		name    string
		resp    *pb.TxnResponse
		outcome string
		shape   string
	}{
		{"client success, nested success", guarded(nested(true, put(), nested(true, put(), del()))), "detached 43:/b", "put txn(put)"},
		{"client success, nested failure", guarded(nested(true, put(), nested(false, put(), put()))), "attached 44:/y", "put txn(put)"},
		{"client failure", guarded(nested(false, del(), del())), "detached 44:/c", "delete"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, out, err := plan.Finish(tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			if fmtOutcome(out) != tc.outcome || out.Rev != 9 {
				t.Fatalf("Outcome %+v, want %q at 9", out, tc.outcome)
			}
			if s := respShape(got.Responses); s != tc.shape {
				t.Fatalf("responses %s, want %s", s, tc.shape)
			}
		})
	}
}

func respShape(ops []*pb.ResponseOp) string {
	var parts []string
	for _, op := range ops {
		switch u := op.Response.(type) {
		case *pb.ResponseOp_ResponsePut:
			parts = append(parts, "put")
		case *pb.ResponseOp_ResponseDeleteRange:
			parts = append(parts, "delete")
		case *pb.ResponseOp_ResponseRange:
			parts = append(parts, "range")
		case *pb.ResponseOp_ResponseTxn:
			parts = append(parts, "txn("+respShape(u.ResponseTxn.Responses)+")")
		}
	}
	return strings.Join(parts, " ")
}

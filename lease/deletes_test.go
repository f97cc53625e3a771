package lease

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// fenceAt fences every carrier with its claim revision from revs; carriers
// not in revs get no fence.
func fenceAt(revs map[ID]int64) func(ID) *pb.Compare {
	return func(c ID) *pb.Compare {
		if rev, ok := revs[c]; ok {
			return ModIs(testKS.CarrierKey(c), rev)
		}
		return nil
	}
}

func fmtDeleteTxns(txns []DeleteTxn) string {
	var b strings.Builder
	for i, d := range txns {
		fmt.Fprintf(&b, "# txn %d carrier=%d ops=%d", i, d.Carrier, d.Ops)
		for _, g := range d.Guards {
			fmt.Fprintf(&b, " guard@%d=%d:%s@%d", g.Op, g.Lease, g.Key.Key, g.Key.Rev)
		}
		b.WriteString("\n")
		b.WriteString(fmtTxn(d.Txn))
	}
	return b.String()
}

func TestDeleteTxns(t *testing.T) {
	fences := fenceAt(map[ID]int64{1001: 6, 1002: 9})
	tests := []struct {
		name   string
		doomed []Expired
		maxOps int
		want   string
	}{
		{"nothing", nil, 0, ""},
		{"a lease without keys", []Expired{{ID: 42, Carrier: 1001}}, 0, `
# txn 0 carrier=1001 ops=1
if mod(carrier(1001)) = 6
then
  delete record(42)
`},
		{"records first, then each key guarded with its attachment", []Expired{
			{ID: 42, Carrier: 1001, Keys: []AttachedKey{{"/a", 5}, {"/b", 7}}},
			{ID: 43, Carrier: 1001, Keys: []AttachedKey{{"/c", 8}}},
		}, 0, `
# txn 0 carrier=1001 ops=8 guard@2=42:/a@5 guard@4=42:/b@7 guard@6=43:/c@8
if mod(carrier(1001)) = 6
then
  delete record(42)
  delete record(43)
  txn
    if mod(/a) = 5
    then
      delete /a
  delete attach(42,/a)
  txn
    if mod(/b) = 7
    then
      delete /b
  delete attach(42,/b)
  txn
    if mod(/c) = 8
    then
      delete /c
  delete attach(43,/c)
`},
		{"attachment of unknown revision: guarded by the carrier", []Expired{
			{ID: 42, Carrier: 1001, Keys: []AttachedKey{{"/a", 0}}},
		}, 0, `
# txn 0 carrier=1001 ops=3 guard@1=42:/a@0
if mod(carrier(1001)) = 6
then
  delete record(42)
  txn
    if lease(/a) = 1001
    then
      delete /a
  delete attach(42,/a)
`},
		{"carriers in order of first appearance, each with its fence", []Expired{
			{ID: 44, Carrier: 1002, Keys: []AttachedKey{{"/x", 3}}},
			{ID: 42, Carrier: 1001},
			{ID: 45, Carrier: 1002},
		}, 0, `
# txn 0 carrier=1002 ops=4 guard@2=44:/x@3
if mod(carrier(1002)) = 9
then
  delete record(44)
  delete record(45)
  txn
    if mod(/x) = 3
    then
      delete /x
  delete attach(44,/x)
# txn 1 carrier=1001 ops=1
if mod(carrier(1001)) = 6
then
  delete record(42)
`},
		{"split at maxOps-1, a key and its attachment may part", []Expired{
			{ID: 42, Carrier: 1001, Keys: []AttachedKey{{"/a", 5}, {"/b", 7}}},
		}, 3, `
# txn 0 carrier=1001 ops=2 guard@1=42:/a@5
if mod(carrier(1001)) = 6
then
  delete record(42)
  txn
    if mod(/a) = 5
    then
      delete /a
# txn 1 carrier=1001 ops=2 guard@1=42:/b@7
if mod(carrier(1001)) = 6
then
  delete attach(42,/a)
  txn
    if mod(/b) = 7
    then
      delete /b
# txn 2 carrier=1001 ops=1
if mod(carrier(1001)) = 6
then
  delete attach(42,/b)
`},
		{"carriers never share a txn", []Expired{
			{ID: 42, Carrier: 1001},
			{ID: 44, Carrier: 1002},
		}, 128, `
# txn 0 carrier=1001 ops=1
if mod(carrier(1001)) = 6
then
  delete record(42)
# txn 1 carrier=1002 ops=1
if mod(carrier(1002)) = 9
then
  delete record(44)
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fmtDeleteTxns(testKS.DeleteTxns(tc.doomed, fences, tc.maxOps))
			if want := strings.TrimPrefix(tc.want, "\n"); got != want {
				t.Fatalf("DeleteTxns:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// rack builds n leases on the given carriers (round robin), each with
// keysPer keys at distinct revisions.
func rack(n, keysPer int, carriers ...ID) []Expired {
	out := make([]Expired, n)
	rev := int64(100)
	for i := range out {
		e := Expired{ID: ID(i + 1), Carrier: carriers[i%len(carriers)]}
		for k := range keysPer {
			rev++
			e.Keys = append(e.Keys, AttachedKey{Key: fmt.Sprintf("/rack/%05d/%d", i, k), Rev: rev})
		}
		out[i] = e
	}
	return out
}

// TestDeleteTxnsBounds plans the deletes of whole racks and checks every
// transaction against etcd's --max-txn-ops rule, the count of transactions,
// and that the plan, read in order, deletes each carrier's records before
// any of its keys and each key before its attachment, exactly once.
func TestDeleteTxnsBounds(t *testing.T) {
	tests := []struct {
		name     string
		doomed   []Expired
		maxOps   int
		wantTxns int
	}{
		// 5000 records + 5000 × (guarded key + attachment) = 15000 ops, 127 a txn.
		{"5000 leases, one key each, one carrier", rack(5000, 1, 1001), 128, 119},
		{"default maxOps", rack(5000, 1, 1001), 0, 119},
		// Per carrier: 1250 + 2500 = 3750 ops → 30 txns.
		{"5000 leases over 4 carriers", rack(5000, 1, 1001, 1002, 1003, 1004), 128, 120},
		// 5000 + 5000×3×2 = 35000 ops → 276 txns.
		{"5000 leases, three keys each", rack(5000, 3, 1001), 128, 276},
		// 100 + 200 = 300 ops, 9 a txn → 34 txns.
		{"small maxOps", rack(100, 1, 1001), 10, 34},
		{"maxOps 2: one op a txn", rack(3, 1, 1001), 2, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			maxOps := tc.maxOps
			if maxOps <= 0 {
				maxOps = DefaultMaxOpsPerTxn
			}
			fences := map[ID]int64{1001: 6, 1002: 7, 1003: 8, 1004: 9}
			txns := testKS.DeleteTxns(tc.doomed, fenceAt(fences), tc.maxOps)
			if len(txns) != tc.wantTxns {
				t.Fatalf("%d txns, want %d", len(txns), tc.wantTxns)
			}
			deleted := map[string]int{} // by fmtKey
			keysStarted := map[ID]bool{}
			ops := 0
			for i, d := range txns {
				if err := etcdOpCount(d.Txn, maxOps); err != nil {
					t.Fatalf("txn %d: etcd would refuse it: %v", i, err)
				}
				if d.Ops != len(d.Txn.Success) || d.Ops > maxOps-1 || d.Ops == 0 || len(d.Txn.Failure) != 0 {
					t.Fatalf("txn %d: Ops=%d, %d success ops, %d failure ops", i, d.Ops, len(d.Txn.Success), len(d.Txn.Failure))
				}
				if len(d.Txn.Compare) != 1 || fmtCompare(d.Txn.Compare[0]) != fmt.Sprintf("mod(carrier(%d)) = %d", d.Carrier, fences[d.Carrier]) {
					t.Fatalf("txn %d on carrier %d: compares %v", i, d.Carrier, d.Txn.Compare)
				}
				ops += d.Ops
				guards := 0
				for j, op := range d.Txn.Success {
					key := op.GetRequestDeleteRange().GetKey()
					if n := op.GetRequestTxn(); n != nil {
						keysStarted[d.Carrier] = true
						key = n.Success[0].GetRequestDeleteRange().Key
						// Guards name every guarded delete, in order, with
						// its position, lease and attachment.
						if guards >= len(d.Guards) {
							t.Fatalf("txn %d: guarded delete of %s at %d has no Guard", i, key, j)
						}
						g := d.Guards[guards]
						guards++
						attachNext := j+1 < len(d.Txn.Success) // else it opens the next txn
						if g.Op != j || g.Key.Key != string(key) || g.Key.Rev != n.Compare[0].GetModRevision() ||
							attachNext && !bytes.Equal(d.Txn.Success[j+1].GetRequestDeleteRange().GetKey(), testKS.AttachKey(g.Lease, key)) {
							t.Fatalf("txn %d: Guard %+v for the guarded delete of %s at %d", i, g, key, j)
						}
					}
					p, _ := testKS.Parse(key)
					switch {
					case p.Kind == KindRecord && keysStarted[d.Carrier]:
						t.Fatalf("txn %d: record %d deleted after a key of its carrier", i, p.ID)
					case p.Kind == KindAttachment && deleted[p.Key] != 1:
						t.Fatalf("txn %d: attachment of %s deleted before the key", i, p.Key)
					}
					deleted[fmtKey(key)]++
				}
				if guards != len(d.Guards) {
					t.Fatalf("txn %d: %d guarded deletes, %d Guards", i, guards, len(d.Guards))
				}
			}
			want := 0
			for _, e := range tc.doomed {
				want += 1 + 2*len(e.Keys)
				if k := fmtKey(testKS.RecordKey(e.ID)); deleted[k] != 1 {
					t.Fatalf("%s deleted %d times", k, deleted[k])
				}
				for _, ak := range e.Keys {
					if deleted[ak.Key] != 1 || deleted[fmtKey(testKS.AttachKey(e.ID, []byte(ak.Key)))] != 1 {
						t.Fatalf("%s or its attachment not deleted exactly once", ak.Key)
					}
				}
			}
			if ops != want || len(deleted) != want {
				t.Fatalf("%d ops deleting %d keys, want %d", ops, len(deleted), want)
			}
		})
	}
}

// TestDeleteTxnsFenceCalledPerCarrier: a fence is asked for each carrier
// the plan touches, and each transaction carries its own carrier's.
func TestDeleteTxnsFenceCalledPerCarrier(t *testing.T) {
	asked := map[ID]int{}
	fence := func(c ID) *pb.Compare {
		asked[c]++
		return ModIs(testKS.CarrierKey(c), int64(c))
	}
	txns := testKS.DeleteTxns(rack(300, 1, 1001, 1002), fence, 128)
	for i, d := range txns {
		if got := d.Txn.Compare[0].GetModRevision(); got != int64(d.Carrier) {
			t.Fatalf("txn %d on carrier %d fenced with %d", i, d.Carrier, got)
		}
	}
	if len(asked) != 2 || asked[1001] == 0 || asked[1002] == 0 {
		t.Fatalf("fence asked for %v", asked)
	}
}

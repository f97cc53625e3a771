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
		{"whole leases: each record, then its keys guarded with their attachments", []Expired{
			{ID: 42, Carrier: 1001, Keys: []AttachedKey{{"/a", 5}, {"/b", 7}}},
			{ID: 43, Carrier: 1001, Keys: []AttachedKey{{"/c", 8}}},
		}, 0, `
# txn 0 carrier=1001 ops=8 guard@1=42:/a@5 guard@3=42:/b@7 guard@6=43:/c@8
if mod(carrier(1001)) = 6
then
  delete record(42)
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
  delete record(43)
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
  delete record(45)
  delete record(44)
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
		{"split at maxOps-1: the records apart, then the keys", []Expired{
			{ID: 42, Carrier: 1001, Keys: []AttachedKey{{"/a", 5}, {"/b", 7}}},
		}, 3, `
# txn 0 carrier=1001 ops=1
if mod(carrier(1001)) = 6
then
  delete record(42)
# txn 1 carrier=1001 ops=2 guard@0=42:/a@5
if mod(carrier(1001)) = 6
then
  txn
    if mod(/a) = 5
    then
      delete /a
  delete attach(42,/a)
# txn 2 carrier=1001 ops=2 guard@0=42:/b@7
if mod(carrier(1001)) = 6
then
  txn
    if mod(/b) = 7
    then
      delete /b
  delete attach(42,/b)
`},
		{"a carrier's leases in key order: one prefix's leases share a txn", []Expired{
			{ID: 50, Carrier: 1001, Keys: []AttachedKey{{"/s/web/1", 2}}},
			{ID: 51, Carrier: 1001, Keys: []AttachedKey{{"/s/api/1", 3}}},
			{ID: 52, Carrier: 1001, Keys: []AttachedKey{{"/s/web/2", 4}}},
			{ID: 53, Carrier: 1001, Keys: []AttachedKey{{"/s/api/2", 5}}},
		}, 7, `
# txn 0 carrier=1001 ops=6 guard@1=51:/s/api/1@3 guard@4=53:/s/api/2@5
if mod(carrier(1001)) = 6
then
  delete record(51)
  txn
    if mod(/s/api/1) = 3
    then
      delete /s/api/1
  delete attach(51,/s/api/1)
  delete record(53)
  txn
    if mod(/s/api/2) = 5
    then
      delete /s/api/2
  delete attach(53,/s/api/2)
# txn 1 carrier=1001 ops=6 guard@1=50:/s/web/1@2 guard@4=52:/s/web/2@4
if mod(carrier(1001)) = 6
then
  delete record(50)
  txn
    if mod(/s/web/1) = 2
    then
      delete /s/web/1
  delete attach(50,/s/web/1)
  delete record(52)
  txn
    if mod(/s/web/2) = 4
    then
      delete /s/web/2
  delete attach(52,/s/web/2)
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

// bigLease is lease id on carrier with n keys of its own.
func bigLease(id, carrier ID, n int) Expired {
	e := Expired{ID: id, Carrier: carrier}
	for k := range n {
		e.Keys = append(e.Keys, AttachedKey{Key: fmt.Sprintf("/big/%d/%03d", id, k), Rev: int64(1000 + k)})
	}
	return e
}

// oneKeyLeaseTxns is how many transactions DeleteTxns needs for n leases
// of one key each on one carrier, with maxOps-1 operations a transaction:
// whole leases of 3 ops (record, guarded key, attachment). The count
// follows etcd's op limit, whatever DefaultMaxOpsPerTxn becomes.
func oneKeyLeaseTxns(n, maxOps int) int {
	per := (maxOps - 1) / 3
	return (n + per - 1) / per
}

// TestDeleteTxnsBounds plans the deletes of whole racks and checks every
// transaction against etcd's --max-txn-ops rule, the count of transactions,
// and that the plan, read in order, deletes each lease's record no later
// than its keys, keeps a lease that fits in one transaction in one, puts a
// carrier's records-phase txns before its keys-only ones, and deletes each
// key before its attachment, exactly once.
func TestDeleteTxnsBounds(t *testing.T) {
	tests := []struct {
		name     string
		doomed   []Expired
		maxOps   int
		wantTxns int
	}{
		// Whole leases of 3 ops (record, guarded key, attachment), 42 in
		// 127 ops: ⌈5000/42⌉.
		{"5000 leases, one key each, one carrier", rack(5000, 1, 1001), 128, 120},
		{"default maxOps", rack(5000, 1, 1001), 0, oneKeyLeaseTxns(5000, DefaultMaxOpsPerTxn)},
		// Per carrier: ⌈1250/42⌉ = 30.
		{"5000 leases over 4 carriers", rack(5000, 1, 1001, 1002, 1003, 1004), 128, 120},
		// Leases of 7 ops, 18 in 127: ⌈5000/18⌉.
		{"5000 leases, three keys each", rack(5000, 3, 1001), 128, 278},
		// 3 leases in 9 ops: ⌈100/3⌉.
		{"small maxOps", rack(100, 1, 1001), 10, 34},
		// A lease larger than a txn: its record first, then its keys.
		{"maxOps 2: one op a txn", rack(3, 1, 1001), 2, 9},
		// 3 small leases (9 ops) with the big one's record in one txn, its
		// 200 key ops in 2 more.
		{"a lease of 100 keys among small ones", append(rack(3, 1, 1001), bigLease(99, 1001, 100)), 128, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			maxOps := tc.maxOps
			if maxOps <= 0 {
				maxOps = DefaultMaxOpsPerTxn
			}
			fences := map[ID]int64{1001: 6, 1002: 7, 1003: 8, 1004: 9}
			txns := testKS.DeleteTxns(tc.doomed, fenceAt(fences), tc.maxOps)
			if tc.wantTxns > 0 && len(txns) != tc.wantTxns {
				t.Fatalf("%d txns, want %d", len(txns), tc.wantTxns)
			}
			deleted := map[string]int{} // by fmtKey
			recordGone := map[ID]bool{}
			txnOf := map[ID]map[int]bool{} // lease → the txns that touch it
			secondPhase := map[ID]bool{}   // a carrier's keys-only txns have begun
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
				if !d.Records {
					secondPhase[d.Carrier] = true
				} else if secondPhase[d.Carrier] {
					t.Fatalf("txn %d: a records txn of carrier %d after its keys-only txns", i, d.Carrier)
				}
				guards := 0
				for j, op := range d.Txn.Success {
					key := op.GetRequestDeleteRange().GetKey()
					if n := op.GetRequestTxn(); n != nil {
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
					lid := p.ID
					if p.Kind == KindUnknown || p.Kind == KindSession || p.Kind == KindCarrier || op.GetRequestTxn() != nil {
						lid = d.Guards[guards-1].Lease // a client key: its guard names the lease
					}
					switch {
					case p.Kind == KindRecord:
						recordGone[p.ID] = true
					case !recordGone[lid]:
						t.Fatalf("txn %d: %s of lease %d deleted before the lease's record", i, key, lid)
					case p.Kind == KindAttachment && deleted[p.Key] != 1:
						t.Fatalf("txn %d: attachment of %s deleted before the key", i, p.Key)
					}
					if txnOf[lid] == nil {
						txnOf[lid] = map[int]bool{}
					}
					txnOf[lid][i] = true
					deleted[fmtKey(key)]++
				}
				if guards != len(d.Guards) {
					t.Fatalf("txn %d: %d guarded deletes, %d Guards", i, guards, len(d.Guards))
				}
			}
			want := 0
			for _, e := range tc.doomed {
				want += 1 + 2*len(e.Keys)
				if 1+2*len(e.Keys) <= maxOps-1 && len(txnOf[e.ID]) != 1 {
					t.Fatalf("lease %d (%d ops) spread over txns %v; it fits in one", e.ID, 1+2*len(e.Keys), txnOf[e.ID])
				}
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
